/*
 * The benchmark's baseline: the least a FastCGI program can do, answering
 * every request with {} and the same headers sigil sends.  make bench puts
 * it behind the same nginx as sigil's programs, so the ratio of a program
 * to this baseline measures sigil's own cost.  Not installed, not a
 * sigil program: it uses libfcgi directly and nothing of common/.
 */
#include <fcgiapp.h>

int
main(void)
{
	static const char	 reply[] =
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 2\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: Origin, X-Requested-With, "
	    "Content-Type, Accept, Authorization\r\n"
	    "\r\n{}";
	FCGX_Request		 req;

	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
