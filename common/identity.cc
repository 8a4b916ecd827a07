#include "common/identity.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"
#include "common/hex.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

// sodium_init() is idempotent and thread-safe; the static just avoids
// repeating the call on every hash.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  CHECK(ok) << "sodium_init failed";
}

// Leading zero bits of a 32-byte digest.
int LeadingZeroBits(const uint8_t (&digest)[crypto_hash_sha256_BYTES]) {
  int bits = 0;
  for (uint8_t byte : digest) {
    if (byte != 0) return bits + std::countl_zero(byte);
    bits += 8;
  }
  return bits;
}

// SHA-256 state after absorbing the 64 hex characters of a public key. The
// prefix is exactly one SHA-256 block, so each pow costs a copy of the state
// and one compression for the decimal suffix.
class PowHasher {
 public:
  explicit PowHasher(const PublicKey& pk) {
    EnsureSodium();
    const std::string hex = HexEncode(pk);
    crypto_hash_sha256_init(&prefix_);
    crypto_hash_sha256_update(&prefix_, reinterpret_cast<const unsigned char*>(hex.data()),
                              hex.size());
  }

  int Difficulty(int32_t pow) const {
    char decimal[16];
    auto [end, ec] = std::to_chars(decimal, decimal + sizeof(decimal), pow);
    crypto_hash_sha256_state state = prefix_;
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(decimal),
                              static_cast<unsigned long long>(end - decimal));
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    return LeadingZeroBits(digest);
  }

 private:
  crypto_hash_sha256_state prefix_;
};

absl::Status ErrnoError(int err, const std::string& what, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrFormat("%s '%s'", what, path));
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Writes `id` to a fresh temporary file next to `path` (mode 0600, synced)
// and moves it into place. With `replace` false an existing `path` is left
// alone and AlreadyExists is returned, so a file that appeared meanwhile is
// never clobbered.
absl::Status WriteIdentityFile(const std::string& path, const Identity& id, bool replace) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);  // Creates with mode 0600.
  if (fd < 0) return ErrnoError(errno, "cannot create temporary file for identity file", path);

  auto fail = [&](absl::Status status) {
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return absl::Status(status.code(), absl::StrFormat("cannot write identity file '%s': %s",
                                                       path, status.message()));
  };
  // mkostemp already uses 0600; fchmod makes it independent of that detail.
  if (fchmod(fd, 0600) != 0) return fail(absl::ErrnoToStatus(errno, "fchmod"));
  if (absl::Status s = WriteAll(fd, FormatIdentityFile(id)); !s.ok()) return fail(s);
  if (fsync(fd) != 0) return fail(absl::ErrnoToStatus(errno, "fsync"));
  int rc = close(fd);
  fd = -1;
  if (rc != 0) return fail(absl::ErrnoToStatus(errno, "close"));

  if (replace) {
    if (rename(tmp.c_str(), path.c_str()) != 0) return fail(absl::ErrnoToStatus(errno, "rename"));
  } else {
    // link() fails with EEXIST instead of replacing the target.
    if (link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      unlink(tmp.c_str());
      if (err == EEXIST) {
        return absl::AlreadyExistsError(
            absl::StrFormat("identity file '%s' appeared while generating a new one", path));
      }
      return absl::ErrnoToStatus(err, absl::StrFormat("cannot write identity file '%s'", path));
    }
    unlink(tmp.c_str());
  }

  // Persist the directory entry too; failure here is not worth failing for.
  int dir_fd = open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace

int PowDifficulty(const PublicKey& pk, int32_t pow) { return PowHasher(pk).Difficulty(pow); }

bool PowValid(const PublicKey& pk, int32_t pow, int difficulty) {
  return PowDifficulty(pk, pow) >= difficulty;
}

absl::StatusOr<int32_t> FindPow(const PublicKey& pk, int difficulty, int threads) {
  if (difficulty < 0 || difficulty > 256) {
    return absl::InvalidArgumentError(
        absl::StrFormat("pow difficulty %d is out of range 0..256", difficulty));
  }
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (difficulty == 0) return static_cast<int32_t>(kMin);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  const PowHasher hasher(pk);
  // Threads claim contiguous blocks in ascending order and stop once a valid
  // value below their block is known; every value below the final answer has
  // then been tried, so the result is the reference's (the first valid value
  // counting up from INT32_MIN), independent of the thread count.
  constexpr int64_t kBlock = 1 << 14;
  std::atomic<int64_t> next{kMin};
  std::atomic<int64_t> best{std::numeric_limits<int64_t>::max()};

  auto worker = [&] {
    for (;;) {
      const int64_t start = next.fetch_add(kBlock, std::memory_order_relaxed);
      if (start > kMax || start >= best.load(std::memory_order_relaxed)) return;
      const int64_t end = std::min(start + kBlock - 1, kMax);
      for (int64_t v = start; v <= end; ++v) {
        if (hasher.Difficulty(static_cast<int32_t>(v)) < difficulty) continue;
        int64_t current = best.load(std::memory_order_relaxed);
        while (v < current && !best.compare_exchange_weak(current, v, std::memory_order_relaxed)) {
        }
        return;  // Every later block starts above v.
      }
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();

  const int64_t found = best.load();
  if (found > kMax) {
    return absl::NotFoundError(
        absl::StrFormat("no 32-bit proof of work reaches difficulty %d", difficulty));
  }
  return static_cast<int32_t>(found);
}

absl::StatusOr<PublicKey> PublicKeyOf(const SecretKey& sk) {
  EnsureSodium();
  PublicKey derived;
  SecretKey scratch;
  crypto_sign_seed_keypair(derived.data(), scratch.data(), sk.data());
  sodium_memzero(scratch.data(), scratch.size());
  if (!std::equal(derived.begin(), derived.end(), sk.begin() + 32)) {
    return absl::InvalidArgumentError(
        "secret key is inconsistent: its public half does not belong to its seed");
  }
  return derived;
}

absl::StatusOr<Identity> GenerateIdentity(int difficulty, int threads) {
  EnsureSodium();
  Identity id;
  crypto_sign_keypair(id.public_key.data(), id.secret_key.data());
  absl::StatusOr<int32_t> pow = FindPow(id.public_key, difficulty, threads);
  if (!pow.ok()) return pow.status();
  id.pow = *pow;
  return id;
}

std::string FormatIdentityFile(const Identity& id) {
  return absl::StrFormat("[Identity]\nSecretKey = %s\nProofOfWork = %d\n",
                         HexEncode(id.secret_key), id.pow);
}

absl::StatusOr<Identity> ParseIdentityFile(const std::string& text) {
  bool has_section = false;
  absl::optional<std::string> sk_text;
  absl::optional<std::string> pow_text;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);  // Also drops '\r'.
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line == "[Identity]") {
      has_section = true;
      continue;
    }
    absl::optional<std::string>* target = nullptr;
    absl::string_view key;
    if (absl::StartsWith(line, "SecretKey")) {
      key = "SecretKey";
      target = &sk_text;
    } else if (absl::StartsWith(line, "ProofOfWork")) {
      key = "ProofOfWork";
      target = &pow_text;
    }
    if (target == nullptr) continue;  // Unknown lines are tolerated, as in the reference.
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(line.substr(key.size()));
    if (rest.empty() || rest[0] != '=') {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: expected '%s = <value>'", line_no, key));
    }
    if (target->has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat("line %d: duplicate %s", line_no, key));
    }
    *target = std::string(absl::StripAsciiWhitespace(rest.substr(1)));
  }

  if (!has_section) return absl::InvalidArgumentError("missing [Identity] section");
  if (!sk_text.has_value()) return absl::InvalidArgumentError("missing SecretKey");
  if (!pow_text.has_value()) return absl::InvalidArgumentError("missing ProofOfWork");

  Identity id;
  if (absl::Status s = HexDecodeInto(*sk_text, absl::MakeSpan(id.secret_key)); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid SecretKey: %s", s.message()));
  }
  absl::StatusOr<PublicKey> pk = PublicKeyOf(id.secret_key);
  if (!pk.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid SecretKey: %s", pk.status().message()));
  }
  id.public_key = *pk;

  const std::string& p = *pow_text;
  // Like the reference's i32 parsing: optional sign, decimal digits only.
  const char* first = p.data();
  if (p.size() > 1 && p[0] == '+' && p[1] != '-') ++first;
  auto [end, ec] = std::from_chars(first, p.data() + p.size(), id.pow);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid ProofOfWork '%s': expected a signed 32-bit decimal integer", p));
  }
  return id;
}

absl::StatusOr<Identity> LoadIdentityFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrFormat("identity file '%s' does not exist", path));
    }
    // ErrnoToStatus would map some errors (ENOTDIR, ...) to NotFound, which
    // callers take as "generate a new one": keep those distinct.
    absl::StatusCode code = err == EACCES || err == EPERM ? absl::StatusCode::kPermissionDenied
                                                          : absl::StatusCode::kFailedPrecondition;
    return absl::Status(code, absl::StrFormat("cannot open identity file '%s': %s", path,
                                              std::strerror(err)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrFormat("identity file '%s' is not a regular file", path));
  }
  // A valid file is ~200 bytes; refuse to slurp anything huge.
  constexpr size_t kMaxSize = 64 * 1024;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrFormat("cannot read identity file '%s': %s",
                                                           path, std::strerror(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSize) {
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrFormat("identity file '%s' is too large", path));
    }
  }
  close(fd);

  absl::StatusOr<Identity> id = ParseIdentityFile(text);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("malformed identity file '%s': %s", path, id.status().message()));
  }
  return id;
}

absl::Status SaveIdentityFile(const std::string& path, const Identity& id) {
  return WriteIdentityFile(path, id, /*replace=*/true);
}

absl::StatusOr<Identity> LoadOrCreateIdentity(const std::string& path, int difficulty) {
  absl::StatusOr<Identity> loaded = LoadIdentityFile(path);
  if (loaded.ok() || !absl::IsNotFound(loaded.status())) return loaded;

  LOG(INFO) << "Identity file '" << path << "' not found. Generate new one...";
  absl::StatusOr<Identity> id = GenerateIdentity(difficulty);
  if (!id.ok()) return id.status();
  if (absl::Status s = WriteIdentityFile(path, *id, /*replace=*/false); !s.ok()) return s;
  return id;
}

}  // namespace drasyl
