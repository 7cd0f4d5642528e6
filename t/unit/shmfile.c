/*
 * Unit tests for common/shmfile: which folders and files are trusted
 * (a folder writable by group or others, sticky or not, or of another
 * user, is refused; a file that is a symbolic link, a FIFO, writable by
 * others or another user's is refused to a reader and replaced by a
 * writer, never followed or written through), and a mapping whose file
 * is truncated under it does not kill the process (reading or writing),
 * while a SIGBUS outside the guarded mappings still does.  Root's -t
 * judges another user's folder by its mode only.  The cases of
 * another owner need root (chown to nobody); they are skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmfile.h"
#include "tap.h"

#define SIZE	16384		/* a file's size: four pages */

static const char	 hdr[] = "SIGLTEST";
static char		 base[] = "/tmp/sigil-shmfile.XXXXXX";
static uid_t		 nobody = (uid_t)-1;	/* -1: not root */

/* Stops the test when a step of its setting up failed (rc -1). */
static void
must(int rc, const char *what)
{
	if (rc == -1) {
		perror(what);
		exit(1);
	}
}

/* base/name into buf. */
static const char *
at(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", base, name);
	return buf;
}

/* A folder base/name of mode (chmod, whatever the umask). */
static const char *
folder(const char *name, mode_t mode)
{
	static char	 path[512];

	at(path, sizeof(path), name);
	mkdir(path, 0700);
	chmod(path, mode);
	return path;
}

/* Writes a file at path of size bytes starting with hdr, of mode. */
static void
put_file(const char *path, size_t size, mode_t mode)
{
	char	*b = calloc(1, size);
	int	 fd;

	memcpy(b, hdr, sizeof(hdr));
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1 ||
	    write(fd, b, size) != (ssize_t)size) {
		perror(path);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
	free(b);
}

/* Whether the folder dir is refused, with a reason containing want. */
static int
dir_refused(const char *dir, const char *want)
{
	char	 why[512] = "";
	int	 fd;

	if ((fd = shmfile_dir_open(dir, why, sizeof(why))) != -1) {
		close(fd);
		diag("%s accepted", dir);
		return 0;
	}
	if (strstr(why, want) == NULL) {
		diag("%s", why);
		return 0;
	}
	return 1;
}

/* Maps name under dfd for writing; NULL says why in diag. */
static unsigned char *
map_rw(int dfd, const char *name)
{
	char		 why[512];
	unsigned char	*m;

	if ((m = shmfile_map(dfd, name, SIZE, hdr, sizeof(hdr), 0640, why,
	    sizeof(why))) == NULL)
		diag("shmfile_map %s: %s", name, why);
	return m;
}

/* Whether a reader takes name under dfd. */
static int
readable(int dfd, const char *name)
{
	int	 fd;

	alarm(10);		/* a FIFO must not hold the reader */
	fd = shmfile_open_ro(dfd, name, SIZE);
	alarm(0);
	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

/* Runs f in a child; returns its wait status. */
static int
in_child(int (*f)(int), int dfd)
{
	int	 status;
	pid_t	 pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		alarm(30);
		_exit(f(dfd));
	}
	if (pid == -1 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* Truncates a file while mapped for writing, then writes and reads it. */
static int
truncate_rw(int dfd)
{
	volatile unsigned char	*m;
	char			 path[512];
	struct stat		 st;

	if ((m = map_rw(dfd, "trunc")) == NULL)
		return 2;
	m[SIZE - 1] = 7;
	if (truncate(at(path, sizeof(path), "ok/trunc"), 0) == -1)
		return 3;
	m[SIZE - 1] = 9;		/* past the end: SIGBUS unguarded */
	m[0] = 1;
	if (m[SIZE - 1] != 9 || !shmfile_lost((const void *)m))
		return 4;
	/* The file is not written through any more. */
	if (stat(path, &st) == -1 || st.st_size != 0)
		return 5;
	shmfile_unmap((void *)m, SIZE);
	return 0;
}

/* Truncates a file while mapped for reading, then reads it. */
static int
truncate_ro(int dfd)
{
	volatile const unsigned char	*m;
	char				 path[512];
	int				 fd;

	if ((fd = shmfile_open_ro(dfd, "rotrunc", SIZE)) == -1 ||
	    (m = shmfile_map_ro(fd, SIZE)) == NULL)
		return 2;
	close(fd);
	if (m[0] != 'S')
		return 3;
	if (truncate(at(path, sizeof(path), "ok/rotrunc"), 100) == -1)
		return 4;
	if (m[SIZE - 1] != 0 || !shmfile_lost((const void *)m))
		return 5;
	shmfile_unmap((void *)m, SIZE);
	return 0;
}

/* A mapping made without the guard, truncated: SIGBUS kills. */
static int
truncate_unguarded(int dfd)
{
	volatile unsigned char	*m, *g;
	char			 path[512];
	int			 fd;

	if ((g = map_rw(dfd, "guarded")) == NULL)	/* the handler is on */
		return 2;
	if ((fd = open(at(path, sizeof(path), "ok/plain"), O_RDWR)) == -1 ||
	    (m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0)) == MAP_FAILED)
		return 3;
	if (ftruncate(fd, 0) == -1)
		return 4;
	m[SIZE - 1] = 1;
	return 0;		/* not reached */
}

int
main(void)
{
	struct passwd	*pw;
	struct stat	 st, st2;
	unsigned char	*m;
	char		 path[512], link[512], why[512] = "";
	int		 dfd, fd, status;

	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (geteuid() == 0 && (pw = getpwnam("nobody")) != NULL)
		nobody = pw->pw_uid;

	/* Folders. */
	ok((dfd = shmfile_dir_open(folder("ok", 0755), why,
	    sizeof(why))) != -1, "a folder of ours, 0755: trusted %s", why);
	ok(dir_refused(folder("o+w", 0777), "writable by others"),
	    "0777: refused");
	ok(dir_refused(folder("sticky", 01777), "writable by others"),
	    "01777 (sticky): refused");
	ok(dir_refused(folder("g+w", 0775), "writable by its group"),
	    "0775: refused");
	ok(dir_refused(at(path, sizeof(path), "missing"),
	    "No such file"), "a missing folder: refused");
	put_file(at(path, sizeof(path), "afile"), 10, 0600);
	ok(dir_refused(path, "Not a directory"), "a file: refused");
	must(symlink(folder("ok", 0755), at(link, sizeof(link), "oklink")),
	    "symlink");
	ok((fd = shmfile_dir_open(link, why, sizeof(why))) != -1,
	    "a symbolic link the operator named, to a trusted folder: "
	    "followed %s", why);
	close(fd);
	if (nobody != (uid_t)-1) {
		must(chown(folder("theirs", 0755), nobody, (gid_t)-1),
		    "chown");
		ok(dir_refused(folder("theirs", 0755), "owned by uid"),
		    "another user's folder, 0755: refused");
		/* -t as root, for the programs' user: the mode only. */
		ok(shmfile_dir_check(folder("theirs", 0755), why,
		    sizeof(why)) == 0, "but root's -t takes it for the "
		    "programs' user's %s", why);
		ok(shmfile_dir_check(folder("theirs", 0777), why,
		    sizeof(why)) == -1 && strstr(why, "writable by others"),
		    "not when writable by others");
	} else {
		ok(1, "# SKIP another owner needs root");
		ok(1, "# SKIP another owner needs root");
		ok(1, "# SKIP another owner needs root");
	}

	/* A writer: a new file. */
	ok((m = map_rw(dfd, "new")) != NULL &&
	    memcmp(m, hdr, sizeof(hdr)) == 0, "a new file is made");
	shmfile_unmap(m, SIZE);
	ok(stat(at(path, sizeof(path), "ok/new"), &st) == 0 &&
	    (st.st_mode & 07777) == 0640 && st.st_uid == geteuid() &&
	    st.st_size == SIZE, "ours, 0640, of the size");

	/* A symbolic link at the name: not followed, replaced. */
	put_file(at(path, sizeof(path), "victim"), 10, 0600);
	must(symlink(path, at(link, sizeof(link), "ok/link")), "symlink");
	ok((m = map_rw(dfd, "link")) != NULL, "a symbolic link: mapped");
	shmfile_unmap(m, SIZE);
	ok(lstat(link, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == SIZE, "as a new regular file in its place");
	ok(stat(path, &st) == 0 && st.st_size == 10,
	    "what it named is untouched");

	/* Writable by others, of the right size and header: replaced. */
	put_file(at(path, sizeof(path), "ok/o+w"), SIZE, 0666);
	stat(path, &st);
	ok((m = map_rw(dfd, "o+w")) != NULL, "a file writable by others");
	shmfile_unmap(m, SIZE);
	ok(stat(path, &st2) == 0 && st2.st_ino != st.st_ino &&
	    (st2.st_mode & 07777) == 0640, "is replaced by one of 0640");

	/* A FIFO: replaced, without waiting on it. */
	mkfifo(at(path, sizeof(path), "ok/fifo"), 0600);
	alarm(10);
	ok((m = map_rw(dfd, "fifo")) != NULL, "a FIFO");
	alarm(0);
	shmfile_unmap(m, SIZE);
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode),
	    "is replaced by a file");

	/* A folder at the name: an error. */
	mkdir(at(path, sizeof(path), "ok/adir"), 0700);
	ok(shmfile_map(dfd, "adir", SIZE, hdr, sizeof(hdr), 0640, why,
	    sizeof(why)) == NULL && strstr(why, "adir") != NULL,
	    "a folder at the name: an error naming it: %s", why);

	/* Another user's file: replaced. */
	if (nobody != (uid_t)-1) {
		put_file(at(path, sizeof(path), "ok/theirs"), SIZE, 0644);
		must(chown(path, nobody, (gid_t)-1), "chown");
		ok((m = map_rw(dfd, "theirs")) != NULL,
		    "another user's file");
		shmfile_unmap(m, SIZE);
		ok(stat(path, &st) == 0 && st.st_uid == geteuid(),
		    "is replaced by one of ours");
	} else {
		ok(1, "# SKIP another owner needs root");
		ok(1, "# SKIP another owner needs root");
	}

	/* Readers. */
	put_file(at(path, sizeof(path), "ok/good"), SIZE, 0640);
	ok(readable(dfd, "good"), "a reader takes a file of ours");
	must(symlink(path, at(link, sizeof(link), "ok/rlink")), "symlink");
	ok(!readable(dfd, "rlink"), "not a symbolic link to it");
	put_file(at(path, sizeof(path), "ok/rw"), SIZE, 0646);
	ok(!readable(dfd, "rw"), "nor a file writable by others");
	put_file(at(path, sizeof(path), "ok/gw"), SIZE, 0660);
	ok(!readable(dfd, "gw"), "nor by its group");
	put_file(at(path, sizeof(path), "ok/short"), SIZE - 1, 0640);
	ok(!readable(dfd, "short"), "nor one of another size");
	mkfifo(at(path, sizeof(path), "ok/rfifo"), 0600);
	ok(!readable(dfd, "rfifo"), "nor a FIFO (without waiting)");
	if (nobody != (uid_t)-1) {
		put_file(at(path, sizeof(path), "ok/rtheirs"), SIZE, 0644);
		must(chown(path, nobody, (gid_t)-1), "chown");
		ok(!readable(dfd, "rtheirs"), "nor another user's file");
	} else
		ok(1, "# SKIP another owner needs root");

	/* Truncated under a mapping.  (valgrind does not let a SIGBUS
	 * handler replace the mapping under the faulting access.) */
	if (getenv("SIGIL_VALGRIND") != NULL) {
		ok(1, "# SKIP a truncated writer's mapping, under valgrind");
		ok(1, "# SKIP a truncated reader's mapping, under valgrind");
	} else {
		status = in_child(truncate_rw, dfd);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "a writer whose file is truncated lives on, its mapping "
		    "lost (status %#x)", status);
		put_file(at(path, sizeof(path), "ok/rotrunc"), SIZE, 0640);
		status = in_child(truncate_ro, dfd);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "so does a reader (status %#x)", status);
	}
	put_file(at(path, sizeof(path), "ok/plain"), SIZE, 0640);
	status = in_child(truncate_unguarded, dfd);
	/* Killed by it, or stopped by the handler that was there before
	 * (a sanitizer's): not let go on, which would return 0. */
	ok(status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)
	    && (!WIFSIGNALED(status) || WTERMSIG(status) == SIGBUS),
	    "a mapping not made here still gets SIGBUS (status %#x)",
	    status);
	ok(!shmfile_lost(NULL) && shmfile_losses() == 0,
	    "nothing lost in this process");

	close(dfd);
	snprintf(path, sizeof(path), "rm -rf '%s'", base);
	if (system(path) != 0)
		diag("could not remove %s", base);
	return done_testing();
}
