// The load generator's pieces without I/O: its URL and rate values, the
// rate search against a modelled super peer, the best lossless step, and
// the numbers of its JSON.
#include <cmath>
#include <limits>
#include <vector>

#include "bench/loadgen/flag_values.h"
#include "bench/loadgen/rate_search.h"
#include "bench/loadgen/results_json.h"
#include "gtest/gtest.h"

namespace drasyl::loadgen {
namespace {

constexpr char kKey[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(LoadgenUrlTest, ParsesAddressKeyNetworkAndTcpPort) {
  absl::StatusOr<Url> url =
      ParseUrl(std::string("udp://127.0.0.1:22527?publicKey=") + kKey + "&networkId=-7&tcpPort=443");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->addr.ToString(), "127.0.0.1:22527");
  EXPECT_EQ(url->pk[0], 0x01);
  EXPECT_EQ(url->pk[31], 0xef);
  EXPECT_EQ(url->network_id, -7);
  ASSERT_TRUE(url->tcp_port.has_value());
  EXPECT_EQ(*url->tcp_port, 443);
}

TEST(LoadgenUrlTest, RejectsWhatIsNotASuperPeerUrl) {
  EXPECT_FALSE(ParseUrl(std::string("tcp://127.0.0.1:1?publicKey=") + kKey).ok());
  EXPECT_FALSE(ParseUrl("udp://127.0.0.1:1").ok());                       // no key
  EXPECT_FALSE(ParseUrl("udp://127.0.0.1:1?publicKey=abc").ok());         // short key
  EXPECT_FALSE(ParseUrl(std::string("udp://nowhere?publicKey=") + kKey).ok());
  EXPECT_FALSE(ParseUrl(std::string("udp://127.0.0.1:1?publicKey=") + kKey + "&tcpPort=0").ok());
  EXPECT_FALSE(ParseUrl(std::string("udp://127.0.0.1:1?publicKey=") + kKey + "&networkId=x").ok());
}

TEST(LoadgenRateTest, SuffixesAndBadValues) {
  EXPECT_EQ(*ParseRate("250"), 250);
  EXPECT_EQ(*ParseRate("10k"), 10000);
  EXPECT_EQ(*ParseRate("1.5M"), 1.5e6);
  EXPECT_EQ(*ParseRate("0"), 0);
  EXPECT_FALSE(ParseRate("-1").ok());
  EXPECT_FALSE(ParseRate("fast").ok());
  EXPECT_FALSE(ParseRate("").ok());
}

// A super peer relaying at most `capacity` messages/s behind a generator
// that offers at most `generator` messages/s, one second per step.
struct Model {
  double capacity;
  double generator;
  std::vector<StepResult> steps;

  const StepResult& Run(double rate) {
    StepResult r;
    r.id = static_cast<int>(steps.size()) + 1;
    r.target_pps = rate;
    r.seconds = 1;
    r.offered = static_cast<uint64_t>(rate > 0 ? std::min(rate, generator) : generator);
    r.relayed = std::min<uint64_t>(r.offered, static_cast<uint64_t>(capacity));
    steps.push_back(r);
    return steps.back();
  }
};

TEST(LoadgenRateSearchTest, FindsTheSuperPeersLimit) {
  Model m{/*capacity=*/300000, /*generator=*/1000000, {}};
  std::atomic<int> total{0};
  std::atomic<bool> interrupted{false};
  SearchOptions o;
  o.refine = 6;
  SearchHighestRate(o, [&](double rate) -> const StepResult& { return m.Run(rate); }, m.steps,
                    &total, interrupted);
  const Best best = BestLossless(m.steps, o.loss_threshold_pct);
  ASSERT_NE(best.step, nullptr);
  EXPECT_LE(best.step->relayed_pps(), 300000);
  EXPECT_GE(best.step->relayed_pps(), 0.97 * 300000);
  EXPECT_FALSE(best.generator_limited);
  EXPECT_EQ(total.load(), 1 + 6 + 6);
  EXPECT_LE(static_cast<int>(m.steps.size()), total.load());
  EXPECT_EQ(m.steps[0].target_pps, 0);  // the open-loop probe first
}

TEST(LoadgenRateSearchTest, HalvesWhenEverythingLoses) {
  // The probe relays 20 000/s of 1 000 000; only 500/s go through without loss.
  Model m{/*capacity=*/500, /*generator=*/1000000, {}};
  std::atomic<int> total{0};
  std::atomic<bool> interrupted{false};
  SearchHighestRate({}, [&](double rate) -> const StepResult& {
    const StepResult& r = m.Run(rate);
    if (m.steps.size() == 1) m.steps.back().relayed = 20000;
    return r;
  }, m.steps, &total, interrupted);
  const Best best = BestLossless(m.steps, 0.1);
  ASSERT_NE(best.step, nullptr);
  EXPECT_LE(best.step->relayed_pps(), 500);
  EXPECT_GT(total.load(), 1 + 6 + 3);  // halving steps were added
}

TEST(LoadgenRateSearchTest, StopsWhenInterrupted) {
  Model m{1000, 1000000, {}};
  std::atomic<int> total{0};
  std::atomic<bool> interrupted{true};
  SearchHighestRate({}, [&](double rate) -> const StepResult& { return m.Run(rate); }, m.steps,
                    &total, interrupted);
  EXPECT_EQ(m.steps.size(), 1u);  // the probe, then nothing more
}

TEST(LoadgenBestTest, TheGeneratorLimitsWhenTheOpenLoopLosesNothing) {
  Model m{/*capacity=*/1e9, /*generator=*/200000, {}};
  m.Run(0);
  m.Run(100000);
  const Best best = BestLossless(m.steps, 0.1);
  ASSERT_NE(best.step, nullptr);
  EXPECT_EQ(best.step->target_pps, 0);
  EXPECT_TRUE(best.generator_limited);
  EXPECT_EQ(BestLossless({}, 0.1).step, nullptr);
  EXPECT_TRUE(Lossless(m.steps[0], 0.1));
  EXPECT_TRUE(Reached(m.steps[1]));
  EXPECT_EQ(RateOf(m.steps[0]), 200000);
}

TEST(LoadgenJsonTest, Numbers) {
  EXPECT_EQ(Num(3), "3");
  EXPECT_EQ(Num(0.25), "0.25");
  EXPECT_EQ(Num(-2), "-2");
  EXPECT_EQ(Num(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Num(std::nan("")), "null");
  StepResult r;
  r.id = 4;
  r.seconds = 2;
  r.offered = 1000;
  r.relayed = 990;
  const std::string j = StepJson(r);
  EXPECT_NE(j.find("\"step\":4,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"offered_pps\":500,\"relayed_pps\":495,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"loss_pct\":1,"), std::string::npos) << j;
}

}  // namespace
}  // namespace drasyl::loadgen
