#include "control/key_derivation_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>

#include "absl/container/flat_hash_map.h"
#include "common/identity.h"
#include "control/peer_registry.h"
#include "gtest/gtest.h"

namespace drasyl {
namespace {

// Collects `want` results (or gives up after a few seconds).
std::vector<KeyDerivationPool::Result> Collect(KeyDerivationPool& pool, size_t want) {
  std::vector<KeyDerivationPool::Result> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    if (pool.Drain([&](const KeyDerivationPool::Result& r) { got.push_back(r); }) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return got;
}

TEST(KeyDerivationPool, SameKeysAsTheControlThreadWouldDerive) {
  Identity sp = *GenerateIdentity(0);
  KeyExchange kx = *KeyExchange::Create(sp.secret_key);
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  {
    KeyDerivationPool pool(kx, 3, efd);
    EXPECT_EQ(pool.threads(), 3);
    std::vector<Identity> peers;
    for (int i = 0; i < 50; ++i) peers.push_back(*GenerateIdentity(0));
    for (const Identity& p : peers) ASSERT_TRUE(pool.Submit(p.public_key));
    std::vector<KeyDerivationPool::Result> got = Collect(pool, peers.size());
    ASSERT_EQ(got.size(), peers.size());
    absl::flat_hash_map<PublicKey, SessionKeys, PublicKeyHash> by_key;
    for (const auto& r : got) {
      EXPECT_TRUE(r.ok);
      by_key[r.peer] = r.keys;
    }
    for (const Identity& p : peers) {
      ASSERT_TRUE(by_key.contains(p.public_key));
      SessionKeys want = *kx.Derive(p.public_key);
      EXPECT_EQ(by_key[p.public_key].rx, want.rx);
      EXPECT_EQ(by_key[p.public_key].tx, want.tx);
    }
    // The helpers signalled the control thread's eventfd.
    uint64_t v = 0;
    EXPECT_EQ(read(efd, &v, sizeof(v)), static_cast<ssize_t>(sizeof(v)));
    EXPECT_GE(v, 1u);
  }
  close(efd);
}

TEST(KeyDerivationPool, InvalidKeysComeBackAsFailures) {
  Identity sp = *GenerateIdentity(0);
  KeyExchange kx = *KeyExchange::Create(sp.secret_key);
  KeyDerivationPool pool(kx, 1, -1);
  PublicKey bad{};
  bad.fill(0xff);  // not a canonical point encoding
  ASSERT_TRUE(pool.Submit(bad));
  ASSERT_TRUE(pool.Submit(sp.public_key));  // our own key
  std::vector<KeyDerivationPool::Result> got = Collect(pool, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].ok);
  EXPECT_EQ(got[0].peer, bad);
  EXPECT_FALSE(got[1].ok);
}

TEST(KeyDerivationPool, FullQueuesRefuseAndStopIsClean) {
  Identity sp = *GenerateIdentity(0);
  KeyExchange kx = *KeyExchange::Create(sp.secret_key);
  Identity peer = *GenerateIdentity(0);
  auto pool = std::make_unique<KeyDerivationPool>(kx, 1, -1);
  // Nothing is drained: once the job and result rings are full, Submit says no.
  size_t accepted = 0;
  for (size_t i = 0; i < 4 * KeyDerivationPool::kMaxInFlight; ++i) {
    if (pool->Submit(peer.public_key)) ++accepted;
  }
  EXPECT_GE(accepted, KeyDerivationPool::kMaxInFlight);
  EXPECT_LT(accepted, 4 * KeyDerivationPool::kMaxInFlight);
  pool.reset();  // joins its threads with work still queued
}

cpu_set_t Cpus(std::initializer_list<int> cpus) {
  cpu_set_t s;
  CPU_ZERO(&s);
  for (int c : cpus) CPU_SET(c, &s);
  return s;
}

TEST(PlaceKeyDerivation, UnpinnedBackendGetsOnePerCpuUpToFour) {
  const cpu_set_t one = Cpus({0}), two = Cpus({0, 1}), eight = Cpus({0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(PlaceKeyDerivation(-1, one, nullptr, nullptr).threads, 0);
  EXPECT_EQ(PlaceKeyDerivation(-1, two, nullptr, nullptr).threads, 2);
  EXPECT_EQ(PlaceKeyDerivation(-1, eight, nullptr, nullptr).threads, 4);
  EXPECT_FALSE(PlaceKeyDerivation(-1, eight, nullptr, nullptr).pinned);
  EXPECT_EQ(PlaceKeyDerivation(3, one, nullptr, nullptr).threads, 3);  // as asked
  EXPECT_EQ(PlaceKeyDerivation(0, eight, nullptr, nullptr).threads, 0);
}

TEST(PlaceKeyDerivation, PinnedWorkersKeepTheirCpus) {
  // 8 CPUs, the EAL on 0-3 (main lcore 0, workers 1-3): helpers on 4-7, one each.
  const cpu_set_t allowed = Cpus({0, 1, 2, 3, 4, 5, 6, 7});
  const cpu_set_t workers = Cpus({1, 2, 3}), main = Cpus({0});
  KeyDerivationPlacement p = PlaceKeyDerivation(-1, allowed, &workers, &main);
  EXPECT_EQ(p.threads, 4);
  ASSERT_TRUE(p.pinned);
  EXPECT_EQ(CpuListString(p.cpus), "4-7");
  // Asked for more: still only there.
  p = PlaceKeyDerivation(6, allowed, &workers, &main);
  EXPECT_EQ(p.threads, 6);
  EXPECT_EQ(CpuListString(p.cpus), "4-7");
  // Only CPUs the process may use count as spare.
  const cpu_set_t restricted = Cpus({0, 1, 2, 3, 6});
  p = PlaceKeyDerivation(-1, restricted, &workers, &main);
  EXPECT_EQ(p.threads, 1);
  EXPECT_EQ(CpuListString(p.cpus), "6");
}

TEST(PlaceKeyDerivation, WithoutSpareCpusOnlyBesideTheControlThread) {
  // 2 CPUs, -l 0-1: no spare CPU, none by default; asked for, on the main
  // lcore's CPU, never on the worker's.
  const cpu_set_t allowed = Cpus({0, 1}), workers = Cpus({1}), main = Cpus({0});
  KeyDerivationPlacement p = PlaceKeyDerivation(-1, allowed, &workers, &main);
  EXPECT_EQ(p.threads, 0);
  EXPECT_FALSE(p.pinned);
  p = PlaceKeyDerivation(2, allowed, &workers, &main);
  EXPECT_EQ(p.threads, 2);
  ASSERT_TRUE(p.pinned);
  EXPECT_EQ(CpuListString(p.cpus), "0");
  // Main lcore and worker on one CPU (--lcores=0@1,1@1): CPU 0 is spare.
  const cpu_set_t one = Cpus({1});
  p = PlaceKeyDerivation(-1, allowed, &one, &one);
  EXPECT_EQ(p.threads, 1);
  EXPECT_EQ(CpuListString(p.cpus), "0");
}

TEST(CpuListString, Ranges) {
  EXPECT_EQ(CpuListString(Cpus({})), "");
  EXPECT_EQ(CpuListString(Cpus({0})), "0");
  EXPECT_EQ(CpuListString(Cpus({0, 2, 3, 4, 7})), "0,2-4,7");
}

// Cpus_allowed_list of this process's threads named `name`.
std::vector<std::string> AllowedCpusOfThreads(const std::string& name) {
  std::vector<std::string> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(base + "/comm");
    std::string n;
    std::getline(comm, n);
    if (n.rfind(name, 0) != 0) continue;
    std::ifstream status(base + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Cpus_allowed_list:", 0) == 0) {
        out.push_back(line.substr(line.find_last_of(" \t") + 1));
      }
    }
  }
  closedir(dir);
  return out;
}

TEST(KeyDerivationPool, HelpersRunOnTheCpusGiven) {
  Identity sp = *GenerateIdentity(0);
  KeyExchange kx = *KeyExchange::Create(sp.secret_key);
  const cpu_set_t cpu0 = Cpus({0});
  KeyDerivationPool pool(kx, 2, -1, &cpu0);
  const std::vector<std::string> allowed = AllowedCpusOfThreads("drasyl-kx");
  ASSERT_EQ(allowed.size(), 2u);
  EXPECT_EQ(allowed[0], "0");
  EXPECT_EQ(allowed[1], "0");
  // And they work there.
  Identity peer = *GenerateIdentity(0);
  ASSERT_TRUE(pool.Submit(peer.public_key));
  std::vector<KeyDerivationPool::Result> got = Collect(pool, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].ok);
}

}  // namespace
}  // namespace drasyl
