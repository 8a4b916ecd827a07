#include "control/key_derivation_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace drasyl
