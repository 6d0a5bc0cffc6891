/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ephem/replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ephem/macro.h"
#include "ephem/state.h"

#define GC_INTERVAL 60
#define GC_STAMP ".gc"

static int entry_name(const char *iss, const char *jti, char shard[3], char name[63]) {
        static const char hex[] = "0123456789abcdef";
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        uint8_t d[32];
        unsigned dl = 0;
        int ok;

        if (!md)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, iss, strlen(iss) + 1) == 1 && /* with its NUL: unambiguous */
             EVP_DigestUpdate(md, jti, strlen(jti)) == 1 && EVP_DigestFinal_ex(md, d, &dl) == 1;
        EVP_MD_CTX_free(md);
        if (!ok || dl != 32)
                return -EIO;
        shard[0] = hex[d[0] >> 4];
        shard[1] = hex[d[0] & 15];
        shard[2] = '\0';
        for (int i = 1; i < 32; i++) {
                name[2 * (i - 1)] = hex[d[i] >> 4];
                name[2 * (i - 1) + 1] = hex[d[i] & 15];
        }
        name[62] = '\0';
        return 0;
}

static int sweep_shard(int fd, int64_t now) {
        DIR *d = dir_open_at(fd);
        struct dirent *de;
        int removed = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                struct stat st;
                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if ((int64_t) st.st_mtim.tv_sec < now && unlinkat(fd, de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

/* Sweeps the shard when its stamp is older than GC_INTERVAL; cheap otherwise. */
static void maybe_sweep(int fd, int64_t now) {
        struct stat st;
        _cleanup_close_ int sfd = -1;

        if (fstatat(fd, GC_STAMP, &st, AT_SYMLINK_NOFOLLOW) == 0 && (int64_t) st.st_mtim.tv_sec + GC_INTERVAL > now)
                return;
        sfd = openat(fd, GC_STAMP, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (sfd < 0)
                return;
        (void) futimens(sfd, NULL);
        (void) sweep_shard(fd, now);
}

int replay_register(const char *state_dir, const char *iss, const char *jti, int64_t forget_after, int64_t now) {
        _cleanup_close_ int top = -1, shard_fd = -1, fd = -1;
        char shard[3], name[63], tmp[sizeof(name) + 16];
        struct timespec ts[2];
        int r;

        r = entry_name(iss, jti, shard, name);
        if (r < 0)
                return r;
        top = state_open_subdir(state_dir, "replay", 0700);
        if (top < 0)
                return top;
        shard_fd = openat(top, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (shard_fd < 0 && errno == ENOENT) {
                if (mkdirat(top, shard, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                shard_fd = openat(top, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (shard_fd < 0)
                return negative_errno();

        /* The entry must appear with its expiry already set: a sweep in another
         * process would take a bare new entry (mtime: now) for an expired one. So it
         * is made under a temporary name, which the sweep skips, and renamed into
         * place only if the name is free: that rename is the atomic single use. */
        (void) snprintf(tmp, sizeof(tmp), ".#%s.", name);
        r = random_hex(tmp + strlen(tmp), 4);
        if (r < 0)
                return r;
        fd = openat(shard_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        ts[0] = ts[1] = (struct timespec){ .tv_sec = (time_t) forget_after };
        if (futimens(fd, ts) < 0 || renameat2(shard_fd, tmp, shard_fd, name, RENAME_NOREPLACE) < 0) {
                /* -EEXIST: used before (an entry the sweep has not removed yet still
                 * refuses: its token expired). */
                r = negative_errno();
                (void) unlinkat(shard_fd, tmp, 0);
                return r;
        }
        maybe_sweep(shard_fd, now);
        return 0;
}

int replay_gc(const char *state_dir, int64_t now) {
        _cleanup_close_ int top = -1;
        int total = 0;

        top = state_open_subdir(state_dir, "replay", 0700);
        if (top < 0)
                return top;
        for (int i = 0; i < 256; i++) {
                char shard[3];
                _cleanup_close_ int fd = -1;
                int r;

                (void) snprintf(shard, sizeof(shard), "%02x", i);
                fd = openat(top, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                r = sweep_shard(fd, now);
                if (r > 0)
                        total += r;
        }
        return total;
}
