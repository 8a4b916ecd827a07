#include "bench/loadgen/identity_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex.h"
#include "common/session_keys.h"
#include "sodium.h"

namespace drasyl::loadgen {
namespace {

constexpr char kIdMagic[8] = {'D', 'R', 'L', 'G', 'I', 'D', '0', '1'};
constexpr char kKxMagic[8] = {'D', 'R', 'L', 'G', 'K', 'X', '0', '1'};
constexpr size_t kIdHeader = 24;
constexpr size_t kIdRecord = 68;
constexpr size_t kKxHeader = 48;
constexpr size_t kKxRecord = 72;

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutLe64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetLe32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t GetLe64(const uint8_t* p) {
  return GetLe32(p) | (static_cast<uint64_t>(GetLe32(p + 4)) << 32);
}

absl::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": not found"));
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Atomic write (temporary file + rename), mode 0600: the file holds secret keys.
absl::Status WriteAll(const std::string& path, const std::string& data) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t r = write(fd, data.data() + off, data.size() - off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp, ": ", strerror(err)));
    }
    off += static_cast<size_t>(r);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status SaveIdentities(const std::string& path, const std::vector<Identity>& ids,
                            int difficulty) {
  std::string out(kIdMagic, sizeof(kIdMagic));
  PutLe32(&out, static_cast<uint32_t>(difficulty));
  PutLe32(&out, 0);
  PutLe64(&out, ids.size());
  out.reserve(kIdHeader + ids.size() * kIdRecord);
  for (const Identity& id : ids) {
    out.append(reinterpret_cast<const char*>(id.secret_key.data()), id.secret_key.size());
    PutLe32(&out, static_cast<uint32_t>(id.pow));
  }
  return WriteAll(path, out);
}

int Threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

absl::StatusOr<std::vector<Identity>> LoadOrGenerateIdentities(const std::string& path,
                                                               size_t count, int difficulty,
                                                               int threads) {
  std::vector<Identity> ids;
  int file_difficulty = difficulty;
  size_t file_count = 0;
  absl::StatusOr<std::string> text = ReadAll(path);
  if (text.ok()) {
    const auto* p = reinterpret_cast<const uint8_t*>(text->data());
    if (text->size() < kIdHeader || std::memcmp(p, kIdMagic, sizeof(kIdMagic)) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s is not a drasyl-loadgen identity cache (bad magic); remove it or pick another "
          "--identities file",
          path));
    }
    file_difficulty = static_cast<int>(GetLe32(p + 8));
    file_count = GetLe64(p + 16);
    if (text->size() < kIdHeader + file_count * kIdRecord) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s is truncated: header says %d identities, file holds %d", path, file_count,
          (text->size() - kIdHeader) / kIdRecord));
    }
    if (file_difficulty < difficulty) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s holds identities of difficulty %d, %d wanted; pass another --identities file "
          "(this one is kept)",
          path, file_difficulty, difficulty));
    }
    const size_t use = std::min(count, file_count);
    ids.resize(use);
    for (size_t i = 0; i < use; ++i) {
      const uint8_t* r = p + kIdHeader + i * kIdRecord;
      std::memcpy(ids[i].secret_key.data(), r, kSecretKeyBytes);
      std::memcpy(ids[i].public_key.data(), r + 32, kPublicKeyBytes);
      ids[i].pow = static_cast<int32_t>(GetLe32(r + 64));
      if (!PowValid(ids[i].public_key, ids[i].pow, difficulty)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: identity #%d has no valid proof of work at difficulty %d (corrupt file?)", path,
            i, difficulty));
      }
    }
    if (use == count) return ids;
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }

  // Generate what is missing. Keep every identity the file had (also those
  // beyond `count`), so a later, larger run finds them.
  // Here the file (if any) had fewer than `count`: all of it is in ids.
  std::vector<Identity> all = ids;
  const size_t missing = count - ids.size();
  const int nthreads = Threads(threads);
  std::fprintf(stderr,
               "loadgen: generating %zu identities at difficulty %d on %d threads into %s "
               "(%zu cached)\n",
               missing, difficulty, nthreads, path.c_str(), ids.size());
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<bool> failed{false};
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  auto last_save = start;
  auto last_print = start;
  // High difficulty, few identities: every core on one identity (FindPow
  // with threads=0). Otherwise one identity per core at a time.
  const bool per_identity_parallel = difficulty >= 16 && missing < static_cast<size_t>(4 * nthreads);
  auto work = [&](int pow_threads) {
    for (;;) {
      if (next.fetch_add(1) >= missing || failed.load()) return;
      absl::StatusOr<Identity> id = GenerateIdentity(difficulty, pow_threads);
      std::lock_guard<std::mutex> lock(mu);
      if (!id.ok()) {
        failed = true;
        error = std::string(id.status().message());
        return;
      }
      all.push_back(*id);
      done.fetch_add(1);
    }
  };
  std::vector<std::thread> pool;
  if (per_identity_parallel) {
    pool.emplace_back(work, 0);
  } else {
    for (int t = 0; t < nthreads; ++t) pool.emplace_back(work, 1);
  }
  // Progress once a second; a checkpoint to the file once a minute.
  while (done.load() < missing && !failed.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_print >= std::chrono::seconds(1)) {
      last_print = now;
      const double secs = std::chrono::duration<double>(now - start).count();
      const size_t d = done.load();
      const double rate = d / std::max(secs, 1e-9);
      std::fprintf(stderr, "loadgen: identities %zu/%zu (%.0f/s, ETA %.0f s)\n", d, missing, rate,
                   rate > 0 ? (missing - d) / rate : 0.0);
    }
    if (now - last_save >= std::chrono::seconds(60)) {
      last_save = now;
      std::vector<Identity> snapshot;
      {
        std::lock_guard<std::mutex> lock(mu);
        snapshot = all;
      }
      absl::Status s = SaveIdentities(path, snapshot, difficulty);
      if (!s.ok()) std::fprintf(stderr, "loadgen: checkpoint failed: %s\n", std::string(s.message()).c_str());
    }
  }
  for (std::thread& t : pool) t.join();
  if (failed) return absl::InternalError(absl::StrCat("identity generation failed: ", error));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "loadgen: generated %zu identities in %.1f s\n", missing, secs);
  if (absl::Status s = SaveIdentities(path, all, difficulty); !s.ok()) return s;
  all.resize(count);
  return all;
}

absl::StatusOr<std::vector<SessionKeys>> LoadOrDeriveSessionKeys(
    const std::string& identity_path, const std::vector<Identity>& ids, const PublicKey& sp,
    int threads) {
  const std::string path =
      absl::StrCat(identity_path, ".kx-", HexEncode(absl::MakeConstSpan(sp.data(), 8)));
  std::vector<SessionKeys> keys(ids.size());
  size_t valid = 0;
  absl::StatusOr<std::string> text = ReadAll(path);
  if (text.ok() && text->size() >= kKxHeader &&
      std::memcmp(text->data(), kKxMagic, sizeof(kKxMagic)) == 0 &&
      std::memcmp(text->data() + 8, sp.data(), kPublicKeyBytes) == 0) {
    const auto* p = reinterpret_cast<const uint8_t*>(text->data());
    const size_t n = std::min<size_t>(GetLe64(p + 40), (text->size() - kKxHeader) / kKxRecord);
    for (; valid < std::min(n, ids.size()); ++valid) {
      const uint8_t* r = p + kKxHeader + valid * kKxRecord;
      if (std::memcmp(r, ids[valid].public_key.data(), 8) != 0) break;
      std::memcpy(keys[valid].rx.data(), r + 8, kSessionKeyBytes);
      std::memcpy(keys[valid].tx.data(), r + 40, kSessionKeyBytes);
    }
  }
  if (valid == ids.size()) return keys;

  const int nthreads = Threads(threads);
  const size_t missing = ids.size() - valid;
  if (missing > 10000) {
    std::fprintf(stderr, "loadgen: deriving %zu session keys on %d threads (cached %zu)\n", missing,
                 nthreads, valid);
  }
  std::atomic<size_t> next{valid};
  std::atomic<size_t> done{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex mu;
  // The node's side of KeyExchange::Derive(sp), with the super peer's key
  // converted once instead of once per node (the conversion checks the main
  // subgroup: a scalar multiplication). Checked against KeyExchange below.
  std::array<uint8_t, 32> sp_x;
  if (sodium_init() < 0 || crypto_sign_ed25519_pk_to_curve25519(sp_x.data(), sp.data()) != 0) {
    return absl::InvalidArgumentError("the super peer's public key is not a valid Ed25519 point");
  }
  auto derive = [&](size_t j) -> absl::Status {
    std::array<uint8_t, 32> x_sk, x_pk;
    if (crypto_sign_ed25519_sk_to_curve25519(x_sk.data(), ids[j].secret_key.data()) != 0 ||
        crypto_scalarmult_base(x_pk.data(), x_sk.data()) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat("identity #%d: bad secret key", j));
    }
    const int order = std::memcmp(x_pk.data(), sp_x.data(), 32);
    if (order == 0) return absl::InvalidArgumentError(absl::StrFormat("identity #%d is the super peer", j));
    const int rc = order < 0 ? crypto_kx_client_session_keys(keys[j].rx.data(), keys[j].tx.data(),
                                                             x_pk.data(), x_sk.data(), sp_x.data())
                             : crypto_kx_server_session_keys(keys[j].rx.data(), keys[j].tx.data(),
                                                             x_pk.data(), x_sk.data(), sp_x.data());
    sodium_memzero(x_sk.data(), x_sk.size());
    if (rc != 0) return absl::InvalidArgumentError(absl::StrFormat("identity #%d: key exchange failed", j));
    return absl::OkStatus();
  };
  auto work = [&] {
    for (;;) {
      const size_t i = next.fetch_add(64);
      if (i >= ids.size() || failed.load()) return;
      for (size_t j = i; j < std::min(i + 64, ids.size()); ++j) {
        absl::Status st = derive(j);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          failed = true;
          error = std::string(st.message());
          return;
        }
      }
      done.fetch_add(std::min<size_t>(64, ids.size() - i));
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < nthreads; ++t) pool.emplace_back(work);
  auto last = start;
  while (done.load() < missing && !failed.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto now = std::chrono::steady_clock::now();
    if (missing > 10000 && now - last >= std::chrono::seconds(1)) {
      last = now;
      std::fprintf(stderr, "loadgen: session keys %zu/%zu\n", done.load(), missing);
    }
  }
  for (std::thread& t : pool) t.join();
  if (failed) return absl::InvalidArgumentError(error);
  // Cross-check the shortcut with the project's KeyExchange on a few nodes.
  for (size_t j = valid; j < std::min(valid + 2, ids.size()); ++j) {
    absl::StatusOr<KeyExchange> kx = KeyExchange::Create(ids[j].secret_key);
    absl::StatusOr<SessionKeys> ref = kx.ok() ? kx->Derive(sp) : absl::StatusOr<SessionKeys>(kx.status());
    if (!ref.ok() || ref->rx != keys[j].rx || ref->tx != keys[j].tx) {
      return absl::InternalError(absl::StrFormat("session keys of identity #%d disagree with KeyExchange", j));
    }
  }
  if (missing > 10000) {
    std::fprintf(stderr, "loadgen: derived %zu session keys in %.1f s\n", missing,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  std::string out(kKxMagic, sizeof(kKxMagic));
  out.append(reinterpret_cast<const char*>(sp.data()), sp.size());
  PutLe64(&out, ids.size());
  out.reserve(kKxHeader + ids.size() * kKxRecord);
  for (size_t i = 0; i < ids.size(); ++i) {
    out.append(reinterpret_cast<const char*>(ids[i].public_key.data()), 8);
    out.append(reinterpret_cast<const char*>(keys[i].rx.data()), kSessionKeyBytes);
    out.append(reinterpret_cast<const char*>(keys[i].tx.data()), kSessionKeyBytes);
  }
  if (absl::Status s = WriteAll(path, out); !s.ok()) {
    std::fprintf(stderr, "loadgen: cannot cache session keys: %s\n", std::string(s.message()).c_str());
  }
  return keys;
}

}  // namespace drasyl::loadgen
