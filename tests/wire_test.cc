// Tests of the wire codec (common/wire.h) against docs/protocol.md §2–§4 and the
// vectors in tests/vectors/messages.json.
#include "common/wire.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/session_keys.h"
#include "common/socket_address.h"
#include "common/types.h"
#include "gtest/gtest.h"
#include "tests/support/test_vectors.h"

namespace drasyl::wire {

// GoogleTest printer (found by ADL, so outside the anonymous namespace).
void PrintTo(const Endpoint& e, std::ostream* os) {
  *os << e.ToSocketAddress().ToString() << " (raw " << e.port << " "
      << drasyl::testing::BytesToHex(e.addr.data(), 16) << ")";
}

namespace {

using drasyl::testing::BytesToHex;
using drasyl::testing::HexToBytes;
using drasyl::testing::JsonValue;
using Bytes = std::vector<uint8_t>;

void EnsureSodium() { ASSERT_GE(sodium_init(), 0); }

template <size_t N>
std::array<uint8_t, N> ToArray(const Bytes& b) {
  EXPECT_EQ(b.size(), N);
  std::array<uint8_t, N> out{};
  std::memcpy(out.data(), b.data(), std::min(N, b.size()));
  return out;
}

template <size_t N>
std::array<uint8_t, N> HexArray(const std::string& hex) {
  return ToArray<N>(HexToBytes(hex));
}

std::string Hex(const Bytes& b) { return BytesToHex(b); }
std::string Hex(const uint8_t* p, size_t n) { return BytesToHex(p, n); }

Endpoint EndpointOf(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return Endpoint::From(a.ok() ? *a : SocketAddress());
}

std::vector<Endpoint> ToVector(const EndpointList& list) {
  return std::vector<Endpoint>(list.begin(), list.end());
}

EndpointList ListOf(const std::vector<Endpoint>& v) {
  EndpointList list;
  for (const Endpoint& e : v) EXPECT_TRUE(list.push_back(e));
  return list;
}

// ---------------------------------------------------------------------------
// messages.json

struct VectorIdentity {
  SecretKey sk{};
  PublicKey pk{};
  int32_t pow = 0;
};

struct VectorMessage {
  std::string name;
  Bytes bytes;
  Bytes plain_body;
  std::string key;  // "" when unarmed, else e.g. "B->A tx"
  // Derived from the name.
  MessageType type = MessageType::kApp;
  char from = 0;
  char to = 0;
  uint8_t hop_count = 0;
};

struct Vectors {
  std::map<char, VectorIdentity> identities;
  std::map<std::string, SessionKeys> session_keys;  // "A->B" -> keys of A for B
  std::vector<VectorMessage> messages;
};

const Vectors& LoadVectors() {
  static const Vectors* vectors = [] {
    auto* v = new Vectors;
    JsonValue json =
        drasyl::testing::ReadJsonFile(drasyl::testing::TestVectorPath("messages.json"));
    for (const auto& [name, id] : json["identities"].AsObject()) {
      EXPECT_EQ(name.size(), 1u) << name;
      VectorIdentity ident;
      ident.sk = HexArray<kSecretKeyBytes>(id["sk"].AsString());
      // pk = the last 32 bytes of the secret key (libsodium layout).
      std::memcpy(ident.pk.data(), ident.sk.data() + 32, 32);
      EXPECT_EQ(Hex(ident.pk.data(), 32), id["pk"].AsString()) << name;
      ident.pow = static_cast<int32_t>(id["pow"].AsInt());
      EXPECT_EQ(ident.pow, id["pow"].AsInt()) << name;
      v->identities[name[0]] = ident;
    }
    for (const auto& [pair, keys] : json["session_keys"].AsObject()) {
      SessionKeys k;
      k.rx = HexArray<kSessionKeyBytes>(keys["rx"].AsString());
      k.tx = HexArray<kSessionKeyBytes>(keys["tx"].AsString());
      v->session_keys[pair] = k;
    }
    static const std::regex kDirection("([A-Z])->([A-Z])");
    for (const JsonValue& m : json["messages"].AsArray()) {
      VectorMessage msg;
      msg.name = m["name"].AsString();
      msg.bytes = HexToBytes(m["bytes"].AsString());
      msg.plain_body = HexToBytes(m["plain_body"].AsString());
      if (const JsonValue* key = m.Find("key")) msg.key = key->AsString();
      const std::string word = msg.name.substr(0, msg.name.find(' '));
      if (word == "ACK") {
        msg.type = MessageType::kAck;
      } else if (word == "APP") {
        msg.type = MessageType::kApp;
      } else if (word == "HELLO") {
        msg.type = MessageType::kHello;
      } else if (word == "UNITE") {
        msg.type = MessageType::kUnite;
      } else {
        ADD_FAILURE() << "unknown message type in name '" << msg.name << "'";
      }
      std::smatch match;
      if (std::regex_search(msg.name, match, kDirection)) {
        msg.from = match[1].str()[0];
        msg.to = match[2].str()[0];
      } else {
        ADD_FAILURE() << "no direction in name '" << msg.name << "'";
      }
      if (msg.name.find("hop 1") != std::string::npos) msg.hop_count = 1;
      // The name says "armed" exactly when the message has a key.
      const bool named_armed = msg.name.find(" armed") != std::string::npos;
      EXPECT_EQ(named_armed, !msg.key.empty()) << msg.name;
      v->messages.push_back(std::move(msg));
    }
    return v;
  }();
  return *vectors;
}

const VectorIdentity& Identity(char who) {
  const Vectors& v = LoadVectors();
  auto it = v.identities.find(who);
  if (it == v.identities.end()) {
    ADD_FAILURE() << "no identity " << who;
    static const VectorIdentity kNone;
    return kNone;
  }
  return it->second;
}

// "B->A tx" -> session_keys["B->A"].tx.
SessionKey SenderKey(const std::string& spec) {
  const Vectors& v = LoadVectors();
  const size_t space = spec.find(' ');
  const std::string pair = spec.substr(0, space);
  const std::string dir = spec.substr(space + 1);
  auto it = v.session_keys.find(pair);
  if (it == v.session_keys.end() || (dir != "tx" && dir != "rx")) {
    ADD_FAILURE() << "bad key spec '" << spec << "'";
    return {};
  }
  return dir == "tx" ? it->second.tx : it->second.rx;
}

// The key the recipient `to` uses to receive from `from`: session_keys
// "to->from".rx when the file has it, else derived with KeyExchange (and then
// checked against the symmetric sender key).
SessionKey RecipientRxKey(char from, char to) {
  const Vectors& v = LoadVectors();
  const std::string reverse = std::string(1, to) + "->" + std::string(1, from);
  auto it = v.session_keys.find(reverse);
  if (it != v.session_keys.end()) return it->second.rx;
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(Identity(to).sk);
  EXPECT_TRUE(kx.ok()) << kx.status();
  if (!kx.ok()) return {};
  absl::StatusOr<SessionKeys> keys = kx->Derive(Identity(from).pk);
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? keys->rx : SessionKey{};
}

// Parses a plain body into its struct and writes it back with the Write*Body
// functions (APP is opaque and copied).
Bytes RewriteBody(MessageType type, const Bytes& plain) {
  Bytes out(plain.size() + 64, 0xee);
  size_t n = 0;
  switch (type) {
    case MessageType::kHello: {
      HelloBody hello;
      EXPECT_EQ(ParseHelloBody(plain.data(), plain.size(), &hello), Error::kOk);
      n = WriteHelloBody(hello, out.data());
      EXPECT_EQ(n, HelloBodyBytes(hello));
      break;
    }
    case MessageType::kAck: {
      AckBody ack;
      EXPECT_EQ(ParseAckBody(plain.data(), plain.size(), &ack), Error::kOk);
      n = WriteAckBody(ack, out.data());
      break;
    }
    case MessageType::kUnite: {
      UniteBody unite;
      EXPECT_EQ(ParseUniteBody(plain.data(), plain.size(), &unite), Error::kOk);
      n = WriteUniteBody(unite, out.data());
      EXPECT_EQ(n, UniteBodyBytes(unite));
      break;
    }
    case MessageType::kApp:
      std::copy(plain.begin(), plain.end(), out.begin());
      n = plain.size();
      break;
  }
  EXPECT_EQ(out[n], 0xee) << "writer wrote past its reported length";
  out.resize(n);
  return out;
}

constexpr std::array<uint8_t, 32> kFixedRandom = [] {
  std::array<uint8_t, 32> r{};
  for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<uint8_t>(i);
  return r;
}();

TEST(WireVectorsTest, FileIsComplete) {
  const Vectors& v = LoadVectors();
  EXPECT_EQ(v.identities.size(), 3u);
  EXPECT_GE(v.messages.size(), 6u);
  std::set<MessageType> types;
  int armed = 0;
  for (const VectorMessage& m : v.messages) {
    types.insert(m.type);
    armed += !m.key.empty();
  }
  EXPECT_EQ(types.size(), 4u) << "every message type has a vector";
  EXPECT_GT(armed, 0);
}

TEST(WireVectorsTest, SessionKeysAreSymmetric) {
  const Vectors& v = LoadVectors();
  int pairs = 0;
  for (const auto& [pair, keys] : v.session_keys) {
    ASSERT_EQ(pair.size(), 4u) << pair;
    const std::string reverse = pair.substr(3, 1) + "->" + pair.substr(0, 1);
    auto it = v.session_keys.find(reverse);
    if (it == v.session_keys.end()) continue;
    ++pairs;
    EXPECT_EQ(keys.tx, it->second.rx) << pair << " tx must be " << reverse << " rx";
    EXPECT_EQ(keys.rx, it->second.tx) << pair << " rx must be " << reverse << " tx";
    EXPECT_NE(keys.rx, keys.tx) << pair;
  }
  EXPECT_GE(pairs, 2) << "A->B and B->A both present";
}

// One sanity check of the key exchange (the full key vectors are in
// session_keys_test.cc).
TEST(WireVectorsTest, KeyExchangeReproducesAToBKeys) {
  EnsureSodium();
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(Identity('A').sk);
  ASSERT_TRUE(kx.ok()) << kx.status();
  absl::StatusOr<SessionKeys> keys = kx->Derive(Identity('B').pk);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const SessionKeys& expected = LoadVectors().session_keys.at("A->B");
  EXPECT_EQ(Hex(keys->rx.data(), 32), Hex(expected.rx.data(), 32));
  EXPECT_EQ(Hex(keys->tx.data(), 32), Hex(expected.tx.data(), 32));
}

TEST(WireVectorsTest, BuildsEveryMessageByteForByte) {
  EnsureSodium();
  for (const VectorMessage& m : LoadVectors().messages) {
    SCOPED_TRACE(m.name);
    const VectorIdentity& from = Identity(m.from);
    const VectorIdentity& to = Identity(m.to);
    HeaderFields h;
    h.hop_count = m.hop_count;
    h.network_id = 1;
    h.recipient = to.pk;
    h.sender = from.pk;
    h.pow = from.pow;
    h.type = m.type;
    const Bytes body = RewriteBody(m.type, m.plain_body);
    EXPECT_EQ(Hex(body), Hex(m.plain_body)) << "body writer output";

    SessionKey tx{};
    const bool armed = !m.key.empty();
    if (armed) tx = SenderKey(m.key);
    const size_t total = MessageBytes(body.size(), armed);
    ASSERT_EQ(total, m.bytes.size());
    Bytes out(total + 16, 0xcc);
    const size_t n = BuildMessage(h, body.data(), body.size(), armed ? &tx : nullptr,
                                  kFixedRandom.data(), out.data(), out.size());
    ASSERT_EQ(n, total);
    EXPECT_EQ(out[total], 0xcc) << "wrote past the message";
    out.resize(n);
    EXPECT_EQ(Hex(out), Hex(m.bytes));

    // Exactly-sized buffer works too; one byte less does not.
    Bytes exact(total);
    EXPECT_EQ(BuildMessage(h, body.data(), body.size(), armed ? &tx : nullptr,
                           kFixedRandom.data(), exact.data(), exact.size()),
              total);
    EXPECT_EQ(exact, m.bytes);
    EXPECT_EQ(BuildMessage(h, body.data(), body.size(), armed ? &tx : nullptr,
                           kFixedRandom.data(), exact.data(), exact.size() - 1),
              0u);
  }
}

TEST(WireVectorsTest, ParsesAndDisarmsEveryMessage) {
  EnsureSodium();
  for (const VectorMessage& m : LoadVectors().messages) {
    SCOPED_TRACE(m.name);
    const VectorIdentity& from = Identity(m.from);
    const VectorIdentity& to = Identity(m.to);
    Bytes msg = m.bytes;
    Header h{};
    ASSERT_EQ(ParseHeader(msg.data(), msg.size(), &h), Error::kOk);
    EXPECT_EQ(h.hop_count, m.hop_count);
    EXPECT_EQ(h.armed(), !m.key.empty());
    EXPECT_EQ(h.flags, m.key.empty() ? 0 : kFlagArmed);
    EXPECT_EQ(h.network_id, 1);
    EXPECT_EQ(KeyAt(h.recipient), to.pk);
    EXPECT_EQ(KeyAt(h.sender), from.pk);
    EXPECT_EQ(h.recipient, msg.data() + off::kRecipient);
    EXPECT_EQ(h.sender, msg.data() + off::kSender);
    EXPECT_EQ(h.pow, from.pow);
    EXPECT_EQ(h.type, m.type);

    const uint8_t* body = msg.data() + kHeaderBytes;
    size_t body_len = msg.size() - kHeaderBytes;
    if (h.armed()) {
      // The recipient's rx key is the sender's tx key.
      const SessionKey rx = RecipientRxKey(m.from, m.to);
      EXPECT_EQ(rx, SenderKey(m.key)) << "recipient rx must equal sender tx";
      // The sender's own rx key (the other direction) must not open it.
      const std::string forward = std::string(1, m.from) + "->" + std::string(1, m.to);
      auto fwd = LoadVectors().session_keys.find(forward);
      if (fwd != LoadVectors().session_keys.end()) {
        Bytes copy = m.bytes;
        uint8_t* b = nullptr;
        size_t bl = 0;
        EXPECT_EQ(Disarm(copy.data(), copy.size(), fwd->second.rx, &b, &bl), Error::kBadTag);
      }
      uint8_t* plain = nullptr;
      size_t plain_len = 0;
      ASSERT_EQ(Disarm(msg.data(), msg.size(), rx, &plain, &plain_len), Error::kOk);
      EXPECT_EQ(plain, msg.data() + kHeaderBytes + kArmOverhead) << "decrypted in place";
      EXPECT_EQ(plain_len, m.plain_body.size());
      body = plain;
      body_len = plain_len;
    }
    EXPECT_EQ(Hex(body, body_len), Hex(m.plain_body));
  }
}

// The body contents of the vectors, parsed field by field.
TEST(WireVectorsTest, ParsesBodyFields) {
  const std::vector<Endpoint> hello_endpoints = {EndpointOf("192.168.7.7:4444"),
                                                 EndpointOf("[2001:db8::7]:4445")};
  int checked = 0;
  for (const VectorMessage& m : LoadVectors().messages) {
    SCOPED_TRACE(m.name);
    const Bytes& b = m.plain_body;
    switch (m.type) {
      case MessageType::kHello: {
        HelloBody hello;
        ASSERT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk);
        EXPECT_EQ(hello.time, 0x0006442ab0765240u);
        EXPECT_EQ(hello.child_time, 1u);
        EXPECT_EQ(ToVector(hello.endpoints), hello_endpoints);
        ASSERT_EQ(hello.endpoints.size, 2);
        EXPECT_EQ(hello.endpoints.items[0].ToSocketAddress(), SocketAddress::V4(0xc0a80707, 4444));
        EXPECT_TRUE(hello.endpoints.items[1].ToSocketAddress().is_v6());
        EXPECT_EQ(hello.endpoints.items[1].ToSocketAddress().ToString(), "[2001:db8::7]:4445");
        ++checked;
        break;
      }
      case MessageType::kAck: {
        AckBody ack;
        ASSERT_EQ(ParseAckBody(b.data(), b.size(), &ack), Error::kOk);
        EXPECT_EQ(ack.time, 0x0006442ab0765240u) << "the time of the HELLO it answers";
        ++checked;
        break;
      }
      case MessageType::kUnite: {
        UniteBody unite;
        ASSERT_EQ(ParseUniteBody(b.data(), b.size(), &unite), Error::kOk);
        EXPECT_EQ(unite.address, Identity('B').pk) << "UNITE to C is about B";
        std::vector<Endpoint> expected = hello_endpoints;
        expected.push_back(EndpointOf("198.51.100.9:50000"));  // B's observed UDP source
        EXPECT_EQ(ToVector(unite.endpoints), expected);
        ASSERT_EQ(unite.endpoints.size, 3);
        const Endpoint& observed = unite.endpoints.items[2];
        const std::array<uint8_t, 16> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                                                198, 51, 100, 9};
        EXPECT_EQ(observed.addr, mapped) << "IPv4 travels IPv4-mapped";
        EXPECT_EQ(observed.port, 50000);
        EXPECT_EQ(observed.ToSocketAddress(), SocketAddress::V4(0xc6336409, 50000));
        EXPECT_EQ(observed.ToSocketAddress().ToString(), "198.51.100.9:50000");
        ++checked;
        break;
      }
      case MessageType::kApp:
        EXPECT_EQ(std::string(b.begin(), b.end()), "hello through the super peer");
        break;
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(WireVectorsTest, RelayedAppDiffersOnlyInHopCount) {
  const VectorMessage* hop0 = nullptr;
  const VectorMessage* hop1 = nullptr;
  for (const VectorMessage& m : LoadVectors().messages) {
    if (m.type != MessageType::kApp) continue;
    (m.hop_count == 0 ? hop0 : hop1) = &m;
  }
  ASSERT_NE(hop0, nullptr);
  ASSERT_NE(hop1, nullptr);
  ASSERT_EQ(hop0->bytes.size(), hop1->bytes.size());
  for (size_t i = 0; i < hop0->bytes.size(); ++i) {
    if (i == off::kHopCount) {
      EXPECT_EQ(hop0->bytes[i], 0);
      EXPECT_EQ(hop1->bytes[i], 1);
    } else {
      EXPECT_EQ(hop0->bytes[i], hop1->bytes[i]) << "offset " << i;
    }
  }
}

std::string CorpusName(const std::string& message_name) {
  std::string out;
  for (char c : message_name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// The fuzz seed corpus holds the vectors as binary files; keep it in sync.
TEST(WireVectorsTest, FuzzSeedCorpusMatchesVectors) {
  const std::string dir = std::string(DRASYL_SOURCE_DIR) + "/tests/fuzz/corpus/";
  for (const VectorMessage& m : LoadVectors().messages) {
    const std::string path = dir + CorpusName(m.name) + ".bin";
    std::string data;
    ASSERT_NO_THROW(data = drasyl::testing::ReadFile(path)) << path;
    EXPECT_EQ(Hex(reinterpret_cast<const uint8_t*>(data.data()), data.size()), Hex(m.bytes))
        << path;
  }
}

// ---------------------------------------------------------------------------
// Round trips with random keys and bodies.

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t U64() { return gen_(); }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(gen_() % n); }
  uint8_t Byte() { return static_cast<uint8_t>(gen_()); }
  void Fill(uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) p[i] = Byte();
  }
  Bytes RandomBytes(size_t n) {
    Bytes b(n);
    Fill(b.data(), n);
    return b;
  }
  Endpoint RandomEndpoint() {
    Endpoint e;
    e.port = static_cast<uint16_t>(1 + Below(65535));
    Fill(e.addr.data(), 16);
    if (Below(2) == 0) {  // IPv4-mapped
      std::memset(e.addr.data(), 0, 10);
      e.addr[10] = e.addr[11] = 0xff;
    }
    return e;
  }
  EndpointList RandomEndpoints(size_t max) {
    EndpointList list;
    const size_t n = Below(static_cast<uint32_t>(max + 1));
    for (size_t i = 0; i < n; ++i) list.push_back(RandomEndpoint());
    return list;
  }

 private:
  std::mt19937_64 gen_;
};

struct KeyPair {
  SessionKeys client;  // client.tx == server.rx
  SessionKeys server;
};

KeyPair RandomSessionKeys() {
  std::array<uint8_t, crypto_kx_PUBLICKEYBYTES> cpk, spk;
  std::array<uint8_t, crypto_kx_SECRETKEYBYTES> csk, ssk;
  crypto_kx_keypair(cpk.data(), csk.data());
  crypto_kx_keypair(spk.data(), ssk.data());
  KeyPair k;
  EXPECT_EQ(crypto_kx_client_session_keys(k.client.rx.data(), k.client.tx.data(), cpk.data(),
                                          csk.data(), spk.data()),
            0);
  EXPECT_EQ(crypto_kx_server_session_keys(k.server.rx.data(), k.server.tx.data(), spk.data(),
                                          ssk.data(), cpk.data()),
            0);
  EXPECT_EQ(k.client.tx, k.server.rx);
  EXPECT_EQ(k.client.rx, k.server.tx);
  return k;
}

SessionKey RandomKey() {
  SessionKey k;
  randombytes_buf(k.data(), k.size());
  return k;
}

struct RandomMessage {
  HeaderFields h;
  Bytes body;
  HelloBody hello;
  AckBody ack;
  UniteBody unite;
};

RandomMessage MakeRandomMessage(MessageType type, Rng& rng) {
  RandomMessage r;
  r.h.hop_count = static_cast<uint8_t>(rng.Below(kMaxHopCount + 1));
  r.h.network_id = static_cast<int32_t>(rng.U64());
  rng.Fill(r.h.recipient.data(), r.h.recipient.size());
  rng.Fill(r.h.sender.data(), r.h.sender.size());
  r.h.pow = static_cast<int32_t>(rng.U64());
  r.h.type = type;
  switch (type) {
    case MessageType::kHello:
      r.hello.time = rng.U64();
      r.hello.child_time = rng.U64() | 1;
      r.hello.endpoints = rng.RandomEndpoints(kMaxHelloEndpoints);
      r.body.resize(HelloBodyBytes(r.hello));
      EXPECT_EQ(WriteHelloBody(r.hello, r.body.data()), r.body.size());
      break;
    case MessageType::kAck:
      r.ack.time = rng.U64();
      r.body.resize(kAckBodyBytes);
      EXPECT_EQ(WriteAckBody(r.ack, r.body.data()), kAckBodyBytes);
      break;
    case MessageType::kUnite:
      rng.Fill(r.unite.address.data(), r.unite.address.size());
      r.unite.endpoints = rng.RandomEndpoints(kMaxEndpoints);
      r.body.resize(UniteBodyBytes(r.unite));
      EXPECT_EQ(WriteUniteBody(r.unite, r.body.data()), r.body.size());
      break;
    case MessageType::kApp:
      r.body = rng.RandomBytes(rng.Below(4) == 0 ? 0 : rng.Below(1500));
      break;
  }
  return r;
}

void ExpectBodyMatches(const RandomMessage& r, const uint8_t* body, size_t len) {
  ASSERT_EQ(Hex(body, len), Hex(r.body));
  switch (r.h.type) {
    case MessageType::kHello: {
      HelloBody hello;
      ASSERT_EQ(ParseHelloBody(body, len, &hello), Error::kOk);
      EXPECT_EQ(hello.time, r.hello.time);
      EXPECT_EQ(hello.child_time, r.hello.child_time);
      EXPECT_EQ(ToVector(hello.endpoints), ToVector(r.hello.endpoints));
      break;
    }
    case MessageType::kAck: {
      AckBody ack;
      ASSERT_EQ(ParseAckBody(body, len, &ack), Error::kOk);
      EXPECT_EQ(ack.time, r.ack.time);
      break;
    }
    case MessageType::kUnite: {
      UniteBody unite;
      ASSERT_EQ(ParseUniteBody(body, len, &unite), Error::kOk);
      EXPECT_EQ(unite.address, r.unite.address);
      EXPECT_EQ(ToVector(unite.endpoints), ToVector(r.unite.endpoints));
      break;
    }
    case MessageType::kApp:
      break;
  }
}

void ExpectHeaderMatches(const HeaderFields& f, bool armed, const uint8_t* msg, size_t len) {
  Header h{};
  ASSERT_EQ(ParseHeader(msg, len, &h), Error::kOk);
  EXPECT_EQ(h.hop_count, f.hop_count);
  EXPECT_EQ(h.flags, armed ? kFlagArmed : 0);
  EXPECT_EQ(h.armed(), armed);
  EXPECT_EQ(h.network_id, f.network_id);
  EXPECT_EQ(KeyAt(h.recipient), f.recipient);
  EXPECT_EQ(KeyAt(h.sender), f.sender);
  EXPECT_EQ(h.pow, f.pow);
  EXPECT_EQ(h.type, f.type);
}

constexpr MessageType kAllTypes[] = {MessageType::kAck, MessageType::kApp, MessageType::kHello,
                                     MessageType::kUnite};

TEST(WireRoundTripTest, EveryTypeArmedAndUnarmed) {
  EnsureSodium();
  Rng rng(0x5eed0001);
  for (int iter = 0; iter < 200; ++iter) {
    for (MessageType type : kAllTypes) {
      for (bool armed : {false, true}) {
        SCOPED_TRACE(std::string(MessageTypeName(type)) + (armed ? " armed" : " unarmed") +
                     " iteration " + std::to_string(iter));
        const KeyPair keys = RandomSessionKeys();
        const RandomMessage r = MakeRandomMessage(type, rng);
        const size_t total = MessageBytes(r.body.size(), armed);
        Bytes msg(total);
        // Half the time with the codec's own random bytes.
        std::array<uint8_t, 32> random;
        rng.Fill(random.data(), random.size());
        const uint8_t* random_ptr = (iter % 2 == 0) ? random.data() : nullptr;
        ASSERT_EQ(BuildMessage(r.h, r.body.data(), r.body.size(), armed ? &keys.client.tx : nullptr,
                               random_ptr, msg.data(), msg.size()),
                  total);
        ExpectHeaderMatches(r.h, armed, msg.data(), msg.size());
        if (!armed) {
          ExpectBodyMatches(r, msg.data() + kHeaderBytes, msg.size() - kHeaderBytes);
          continue;
        }
        if (random_ptr != nullptr) {
          EXPECT_EQ(0, std::memcmp(msg.data() + kHeaderBytes, random.data(), 32));
        }
        // Wrong keys fail.
        for (const SessionKey& wrong : {keys.client.rx, keys.server.tx, RandomKey()}) {
          Bytes copy = msg;
          uint8_t* b = nullptr;
          size_t bl = 0;
          EXPECT_EQ(Disarm(copy.data(), copy.size(), wrong, &b, &bl), Error::kBadTag);
          EXPECT_EQ(b, nullptr);
        }
        uint8_t* body = nullptr;
        size_t body_len = 0;
        ASSERT_EQ(Disarm(msg.data(), msg.size(), keys.server.rx, &body, &body_len), Error::kOk);
        ExpectBodyMatches(r, body, body_len);
        // The header is untouched by disarming.
        ExpectHeaderMatches(r.h, armed, msg.data(), msg.size());
      }
    }
  }
}

TEST(WireRoundTripTest, RandomSessionKeysWithoutKx) {
  EnsureSodium();
  Rng rng(0x5eed0002);
  for (int iter = 0; iter < 100; ++iter) {
    for (MessageType type : kAllTypes) {
      const SessionKey key = RandomKey();
      const RandomMessage r = MakeRandomMessage(type, rng);
      Bytes msg(MessageBytes(r.body.size(), true));
      ASSERT_EQ(BuildMessage(r.h, r.body.data(), r.body.size(), &key, nullptr, msg.data(),
                             msg.size()),
                msg.size());
      uint8_t* body = nullptr;
      size_t body_len = 0;
      ASSERT_EQ(Disarm(msg.data(), msg.size(), key, &body, &body_len), Error::kOk);
      ExpectBodyMatches(r, body, body_len);
    }
  }
}

TEST(WireRoundTripTest, CodecRandomBytesDifferPerMessage) {
  EnsureSodium();
  const SessionKey key = RandomKey();
  HeaderFields h;
  const uint8_t body[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  Bytes a(MessageBytes(8, true)), b(MessageBytes(8, true));
  ASSERT_EQ(BuildMessage(h, body, 8, &key, nullptr, a.data(), a.size()), a.size());
  ASSERT_EQ(BuildMessage(h, body, 8, &key, nullptr, b.data(), b.size()), b.size());
  EXPECT_NE(0, std::memcmp(a.data() + kHeaderBytes, b.data() + kHeaderBytes, kArmRandomBytes));
  EXPECT_NE(a, b);
}

TEST(WireRoundTripTest, ArmedEmptyBodyIsMinimalArmedMessage) {
  EnsureSodium();
  const SessionKey key = RandomKey();
  HeaderFields h;
  Bytes msg(kHeaderBytes + kArmOverhead);
  ASSERT_EQ(BuildMessage(h, nullptr, 0, &key, kFixedRandom.data(), msg.data(), msg.size()),
            kHeaderBytes + kArmOverhead);
  uint8_t* body = nullptr;
  size_t body_len = 99;
  ASSERT_EQ(Disarm(msg.data(), msg.size(), key, &body, &body_len), Error::kOk);
  EXPECT_EQ(body_len, 0u);
  EXPECT_EQ(body, msg.data() + msg.size());
}

// A caller may assemble the body directly where BuildMessage puts it.
TEST(WireRoundTripTest, BuildsInPlace) {
  EnsureSodium();
  Rng rng(0x5eed0003);
  const SessionKey key = RandomKey();
  for (bool armed : {false, true}) {
    const RandomMessage r = MakeRandomMessage(MessageType::kUnite, rng);
    const size_t total = MessageBytes(r.body.size(), armed);
    Bytes msg(total);
    uint8_t* in_place = msg.data() + total - r.body.size();
    std::memcpy(in_place, r.body.data(), r.body.size());
    ASSERT_EQ(BuildMessage(r.h, in_place, r.body.size(), armed ? &key : nullptr,
                           kFixedRandom.data(), msg.data(), msg.size()),
              total);
    Bytes expected(total);
    ASSERT_EQ(BuildMessage(r.h, r.body.data(), r.body.size(), armed ? &key : nullptr,
                           kFixedRandom.data(), expected.data(), expected.size()),
              total);
    EXPECT_EQ(Hex(msg), Hex(expected)) << (armed ? "armed" : "unarmed");
  }
}

// Magic and hop count are outside the associated data: a relay can bump the
// hop count without breaking the tag. Everything else in [5, 79) is bound.
TEST(WireRoundTripTest, OnlyMagicAndHopCountAreUnauthenticated) {
  EnsureSodium();
  Rng rng(0x5eed0004);
  for (MessageType type : kAllTypes) {
    SCOPED_TRACE(MessageTypeName(type));
    const KeyPair keys = RandomSessionKeys();
    const RandomMessage r = MakeRandomMessage(type, rng);
    Bytes msg(MessageBytes(r.body.size(), true));
    ASSERT_EQ(BuildMessage(r.h, r.body.data(), r.body.size(), &keys.client.tx, nullptr,
                           msg.data(), msg.size()),
              msg.size());
    auto disarm = [&](Bytes copy, Bytes* plain) {
      uint8_t* body = nullptr;
      size_t body_len = 0;
      const Error e = Disarm(copy.data(), copy.size(), keys.server.rx, &body, &body_len);
      if (e == Error::kOk && plain != nullptr) plain->assign(body, body + body_len);
      return e;
    };

    for (int hop = 0; hop < 256; ++hop) {
      Bytes relayed = msg;
      relayed[off::kHopCount] = static_cast<uint8_t>(hop);
      Bytes plain;
      ASSERT_EQ(disarm(relayed, &plain), Error::kOk) << "hop " << hop;
      EXPECT_EQ(plain, r.body);
      Header h{};
      ASSERT_EQ(ParseHeader(relayed.data(), relayed.size(), &h), Error::kOk);
      EXPECT_EQ(h.hop_count, hop);
    }
    {
      Bytes other_magic = msg;
      other_magic[0] ^= 0xff;
      EXPECT_EQ(disarm(other_magic, nullptr), Error::kOk) << "magic is not authenticated";
      Header h{};
      EXPECT_EQ(ParseHeader(other_magic.data(), other_magic.size(), &h), Error::kBadMagic);
    }

    struct Change {
      const char* what;
      size_t offset;
      uint8_t mask;
    };
    const Change named[] = {
        {"flags: armed bit cleared", off::kFlags, kFlagArmed},
        {"flags: reserved bit set", off::kFlags, 0x01},
        {"network id", off::kNetworkId + 3, 0x01},
        {"recipient", off::kRecipient, 0x80},
        {"sender", off::kSender + 31, 0x01},
        {"pow", off::kPow, 0x80},
        {"type", off::kType, static_cast<uint8_t>(type == MessageType::kApp ? 0x03 : 0x01)},
    };
    for (const Change& c : named) {
      Bytes changed = msg;
      changed[c.offset] ^= c.mask;
      EXPECT_EQ(disarm(changed, nullptr), Error::kBadTag) << c.what;
    }
    // Every single-bit change anywhere from the flags on breaks the tag.
    for (size_t i = off::kAdBegin; i < msg.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes changed = msg;
        changed[i] ^= static_cast<uint8_t>(1u << bit);
        ASSERT_EQ(disarm(changed, nullptr), Error::kBadTag) << "offset " << i << " bit " << bit;
      }
    }
    // Length changes too.
    Bytes shorter(msg.begin(), msg.end() - 1);
    if (shorter.size() >= kHeaderBytes + kArmOverhead) {
      EXPECT_EQ(disarm(shorter, nullptr), Error::kBadTag);
    }
    Bytes longer = msg;
    longer.push_back(0);
    EXPECT_EQ(disarm(longer, nullptr), Error::kBadTag);
  }
}

TEST(WireRoundTripTest, BodyWritersMatchParsers) {
  Rng rng(0x5eed0005);
  for (int iter = 0; iter < 500; ++iter) {
    HelloBody hello;
    hello.time = rng.U64();
    hello.child_time = rng.U64() | 1;
    hello.endpoints = rng.RandomEndpoints(kMaxHelloEndpoints);
    Bytes buf(kMaxHelloBodyBytes + 1, 0xee);
    const size_t n = WriteHelloBody(hello, buf.data());
    ASSERT_EQ(n, kHelloFixedBytes + hello.endpoints.size * kEndpointBytes);
    EXPECT_EQ(buf[n], 0xee);
    EXPECT_EQ(LoadBe64(buf.data()), hello.time);
    EXPECT_EQ(LoadBe64(buf.data() + 8), hello.child_time);
    for (size_t i = 0; i < hello.endpoints.size; ++i) {
      const uint8_t* e = buf.data() + kHelloFixedBytes + i * kEndpointBytes;
      EXPECT_EQ(LoadBe16(e), hello.endpoints.items[i].port);
      EXPECT_EQ(0, std::memcmp(e + 2, hello.endpoints.items[i].addr.data(), 16));
    }
    HelloBody parsed;
    ASSERT_EQ(ParseHelloBody(buf.data(), n, &parsed), Error::kOk);
    EXPECT_EQ(ToVector(parsed.endpoints), ToVector(hello.endpoints));

    UniteBody unite;
    rng.Fill(unite.address.data(), 32);
    unite.endpoints = rng.RandomEndpoints(kMaxEndpoints);
    Bytes ubuf(kUniteFixedBytes + kMaxEndpoints * kEndpointBytes + 1, 0xee);
    const size_t un = WriteUniteBody(unite, ubuf.data());
    ASSERT_EQ(un, kUniteFixedBytes + unite.endpoints.size * kEndpointBytes);
    EXPECT_EQ(ubuf[un], 0xee);
    EXPECT_EQ(0, std::memcmp(ubuf.data(), unite.address.data(), 32));
    UniteBody uparsed;
    ASSERT_EQ(ParseUniteBody(ubuf.data(), un, &uparsed), Error::kOk);
    EXPECT_EQ(uparsed.address, unite.address);
    EXPECT_EQ(ToVector(uparsed.endpoints), ToVector(unite.endpoints));

    AckBody ack{rng.U64()};
    uint8_t abuf[9];
    abuf[8] = 0xee;
    ASSERT_EQ(WriteAckBody(ack, abuf), 8u);
    EXPECT_EQ(abuf[8], 0xee);
    EXPECT_EQ(LoadBe64(abuf), ack.time);
  }
}

// ---------------------------------------------------------------------------
// Malformed input.

// A valid unarmed HELLO to parse variations of.
Bytes ValidMessage(MessageType type = MessageType::kHello, size_t body_len = 16) {
  HeaderFields h;
  h.recipient.fill(0xaa);
  h.sender.fill(0xbb);
  h.pow = -5;
  h.type = type;
  Bytes body(body_len, 0);
  if (body_len >= 16) body[15] = 1;  // child_time 1
  Bytes msg(MessageBytes(body_len, false));
  EXPECT_EQ(BuildMessage(h, body.data(), body.size(), nullptr, nullptr, msg.data(), msg.size()),
            msg.size());
  return msg;
}

TEST(WireMalformedTest, EveryLengthBelowTheHeaderIsTooShort) {
  const Bytes valid = ValidMessage();
  for (size_t len = 0; len < kHeaderBytes; ++len) {
    Bytes exact(valid.begin(), valid.begin() + len);  // exact size: ASan sees overreads
    Header h{};
    EXPECT_EQ(ParseHeader(exact.data(), exact.size(), &h), Error::kTooShort) << len;
  }
  Bytes exact(valid.begin(), valid.begin() + kHeaderBytes);
  Header h{};
  EXPECT_EQ(ParseHeader(exact.data(), exact.size(), &h), Error::kOk) << "header without body";
  EXPECT_EQ(ParseHeader(nullptr, 0, &h), Error::kTooShort);
}

TEST(WireMalformedTest, BadMagic) {
  const Bytes valid = ValidMessage();
  EXPECT_EQ(LoadBe32(valid.data()), 507465729u);
  EXPECT_EQ(Hex(valid.data(), 4), "1e3f5001");
  Header h{};
  for (size_t i = 0; i < 4; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes m = valid;
      m[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_EQ(ParseHeader(m.data(), m.size(), &h), Error::kBadMagic) << i << "/" << bit;
    }
  }
  // The wrong magic of the reference's doc comment: 507374529.
  Bytes m = valid;
  StoreBe32(m.data(), 507374529u);
  EXPECT_EQ(ParseHeader(m.data(), m.size(), &h), Error::kBadMagic);
  // Checked before the type.
  m[off::kType] = 200;
  EXPECT_EQ(ParseHeader(m.data(), m.size(), &h), Error::kBadMagic);
}

// Node-to-node short header: short id(4) || random(32) || tag(16) || ciphertext.
TEST(WireMalformedTest, ShortHeaderDatagramsAreInvalid) {
  Rng rng(0x5eed0006);
  for (const std::array<uint8_t, 4>& short_id :
       {std::array<uint8_t, 4>{0, 0, 0, 0}, std::array<uint8_t, 4>{0xde, 0xad, 0xbe, 0xef},
        std::array<uint8_t, 4>{0x1e, 0x3f, 0x50, 0x00}}) {
    for (size_t payload : {0, 10, 26, 27, 100, 1400}) {
      Bytes d(4 + kArmOverhead + payload);
      std::copy(short_id.begin(), short_id.end(), d.begin());
      rng.Fill(d.data() + 4, d.size() - 4);
      Header h{};
      EXPECT_EQ(ParseHeader(d.data(), d.size(), &h),
                d.size() < kHeaderBytes ? Error::kTooShort : Error::kBadMagic)
          << Hex(short_id.data(), 4) << " payload " << payload;
    }
  }
}

TEST(WireMalformedTest, MessageTypes) {
  Header h{};
  for (int type = 0; type < 256; ++type) {
    Bytes m = ValidMessage();
    m[off::kType] = static_cast<uint8_t>(type);
    const Error e = ParseHeader(m.data(), m.size(), &h);
    if (type <= 3) {
      ASSERT_EQ(e, Error::kOk);
      EXPECT_EQ(static_cast<int>(h.type), type);
    } else {
      EXPECT_EQ(e, Error::kBadType) << type;
    }
  }
  EXPECT_STREQ(MessageTypeName(MessageType::kAck), "ACK");
  EXPECT_STREQ(MessageTypeName(MessageType::kApp), "APP");
  EXPECT_STREQ(MessageTypeName(MessageType::kHello), "HELLO");
  EXPECT_STREQ(MessageTypeName(MessageType::kUnite), "UNITE");
}

TEST(WireMalformedTest, FlagsAndSignedFields) {
  Header h{};
  for (int flags = 0; flags < 256; ++flags) {
    Bytes m = ValidMessage();
    m[off::kFlags] = static_cast<uint8_t>(flags);
    ASSERT_EQ(ParseHeader(m.data(), m.size(), &h), Error::kOk) << "reserved bits are ignored";
    EXPECT_EQ(h.flags, flags);
    EXPECT_EQ(h.armed(), (flags & 0x10) != 0);
  }
  Bytes m = ValidMessage();
  StoreBe32(m.data() + off::kNetworkId, 0x80000000u);
  StoreBe32(m.data() + off::kPow, 0xffffffffu);
  ASSERT_EQ(ParseHeader(m.data(), m.size(), &h), Error::kOk);
  EXPECT_EQ(h.network_id, INT32_MIN);
  EXPECT_EQ(h.pow, -1);
}

TEST(WireMalformedTest, ArmedTooShortForEveryLength) {
  EnsureSodium();
  const SessionKey key = RandomKey();
  Bytes valid(kHeaderBytes + kArmOverhead);
  HeaderFields f;
  ASSERT_EQ(BuildMessage(f, nullptr, 0, &key, nullptr, valid.data(), valid.size()), valid.size());
  for (size_t len = 0; len < kHeaderBytes + kArmOverhead; ++len) {
    Bytes exact(valid.begin(), valid.begin() + len);
    uint8_t* body = nullptr;
    size_t body_len = 0;
    EXPECT_EQ(Disarm(exact.data(), exact.size(), key, &body, &body_len), Error::kArmedTooShort)
        << len;
    EXPECT_EQ(body, nullptr);
  }
  uint8_t* body = nullptr;
  size_t body_len = 0;
  EXPECT_EQ(Disarm(valid.data(), valid.size(), key, &body, &body_len), Error::kOk);
}

TEST(WireMalformedTest, BadTag) {
  EnsureSodium();
  const SessionKey key = RandomKey();
  // Random garbage of every length from the minimum up.
  Rng rng(0x5eed0007);
  for (size_t len = kHeaderBytes + kArmOverhead; len < kHeaderBytes + kArmOverhead + 100; ++len) {
    Bytes d = rng.RandomBytes(len);
    uint8_t* body = nullptr;
    size_t body_len = 0;
    EXPECT_EQ(Disarm(d.data(), d.size(), key, &body, &body_len), Error::kBadTag) << len;
  }
  // An unarmed message is not armed: disarming fails.
  Bytes unarmed = ValidMessage(MessageType::kHello, 16 + 3 * 18);
  uint8_t* body = nullptr;
  size_t body_len = 0;
  EXPECT_EQ(Disarm(unarmed.data(), unarmed.size(), key, &body, &body_len), Error::kBadTag);
}

TEST(WireMalformedTest, BuildMessageBufferTooSmall) {
  EnsureSodium();
  const SessionKey key = RandomKey();
  HeaderFields h;
  const Bytes body(40, 0x42);
  for (bool armed : {false, true}) {
    const size_t total = MessageBytes(body.size(), armed);
    EXPECT_EQ(total, kHeaderBytes + 40 + (armed ? 48 : 0));
    for (size_t cap = 0; cap < total; ++cap) {
      Bytes out(total, 0x5a);
      EXPECT_EQ(BuildMessage(h, body.data(), body.size(), armed ? &key : nullptr, nullptr,
                             out.data(), cap),
                0u)
          << cap;
      EXPECT_EQ(out, Bytes(total, 0x5a)) << "nothing written for cap " << cap;
    }
    Bytes out(total);
    EXPECT_EQ(BuildMessage(h, body.data(), body.size(), armed ? &key : nullptr, nullptr,
                           out.data(), total),
              total);
  }
}

TEST(WireMalformedTest, HelloTooShort) {
  const Bytes full = [] {
    Bytes b(16, 0);
    b[15] = 1;
    return b;
  }();
  for (size_t len = 0; len < kHelloFixedBytes; ++len) {
    Bytes exact(full.begin(), full.begin() + len);
    HelloBody hello;
    EXPECT_EQ(ParseHelloBody(exact.data(), exact.size(), &hello), Error::kHelloTooShort) << len;
  }
  HelloBody hello;
  EXPECT_EQ(ParseHelloBody(full.data(), full.size(), &hello), Error::kOk);
  EXPECT_EQ(hello.endpoints.size, 0);
  EXPECT_EQ(hello.child_time, 1u);
}

TEST(WireMalformedTest, HelloZeroChildTime) {
  for (size_t n : {0, 1, 15, 16, 40}) {
    Bytes b(kHelloFixedBytes + n * kEndpointBytes, 0);
    StoreBe64(b.data(), 1700000000000000u);
    for (size_t i = 0; i < n; ++i) StoreBe16(b.data() + 16 + i * 18, 1000);
    HelloBody hello;
    EXPECT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kHelloZeroChildTime) << n;
    StoreBe64(b.data() + 8, 1);
    EXPECT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk) << n;
    // Any non-zero child_time is accepted, not just 1.
    StoreBe64(b.data() + 8, UINT64_MAX);
    EXPECT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk) << n;
  }
}

// A HELLO body with n endpoints numbered from port base, plus `extra` bytes.
Bytes HelloWithEndpoints(size_t n, size_t extra = 0, uint16_t base = 1000) {
  Bytes b(kHelloFixedBytes + n * kEndpointBytes + extra, 0x77);
  StoreBe64(b.data(), 42);
  StoreBe64(b.data() + 8, 1);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* e = b.data() + kHelloFixedBytes + i * kEndpointBytes;
    StoreBe16(e, static_cast<uint16_t>(base + i));
    std::memset(e + 2, 0, 16);
    e[2] = 0x20;
    e[3] = 0x01;
    e[17] = static_cast<uint8_t>(i);
  }
  return b;
}

TEST(WireMalformedTest, HelloEndpointsMisalignedBelowTheCap) {
  for (size_t n = 0; n < kMaxHelloEndpoints; ++n) {
    for (size_t r = 1; r < kEndpointBytes; ++r) {
      Bytes b = HelloWithEndpoints(n, r);
      ASSERT_LE(b.size(), kMaxHelloBodyBytes);
      HelloBody hello;
      EXPECT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kEndpointsMisaligned)
          << n << " endpoints + " << r;
    }
  }
}

TEST(WireMalformedTest, HelloLongerThanFifteenEndpointsIsTruncated) {
  EXPECT_EQ(kMaxHelloBodyBytes, 286u);
  const Bytes fifteen = HelloWithEndpoints(15);
  HelloBody expected;
  ASSERT_EQ(ParseHelloBody(fifteen.data(), fifteen.size(), &expected), Error::kOk);
  ASSERT_EQ(expected.endpoints.size, 15);
  EXPECT_EQ(expected.endpoints.items[14].port, 1014);

  struct Case {
    size_t endpoints, extra;
    const char* what;
  };
  std::vector<Case> cases;
  for (size_t r = 1; r < kEndpointBytes; ++r) {
    cases.push_back({15, r, "misaligned total: the cut lands inside the 16th endpoint"});
  }
  for (size_t n = 16; n <= 20; ++n) cases.push_back({n, 0, "aligned total: 16+ endpoints"});
  for (size_t r = 1; r < kEndpointBytes; r += 4) {
    cases.push_back({17, r, "misaligned total beyond the 16th endpoint"});
  }
  cases.push_back({200, 5, "far too long"});
  cases.push_back({3000, 0, "near the UDP maximum"});
  for (const Case& c : cases) {
    Bytes b = HelloWithEndpoints(c.endpoints, c.extra);
    Bytes exact(b);  // exact-size heap buffer
    HelloBody hello;
    ASSERT_EQ(ParseHelloBody(exact.data(), exact.size(), &hello), Error::kOk)
        << c.what << " (" << c.endpoints << " endpoints + " << c.extra << ")";
    EXPECT_EQ(hello.time, 42u);
    EXPECT_EQ(ToVector(hello.endpoints), ToVector(expected.endpoints)) << c.what;
  }
  // What lies beyond the cap, however malformed, does not matter.
  Bytes b = HelloWithEndpoints(15, 1000);
  std::fill(b.begin() + kMaxHelloBodyBytes, b.end(), 0xff);
  HelloBody hello;
  EXPECT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk);
  EXPECT_EQ(hello.endpoints.size, 15);
}

TEST(WireMalformedTest, HelloTruncationCountsBytesNotKeptEndpoints) {
  // Two port-0 entries among the first 15: they are skipped, and the 16th and
  // later endpoints are still cut off (the prefix is 286 bytes).
  Bytes b = HelloWithEndpoints(20);
  StoreBe16(b.data() + 16 + 3 * 18, 0);
  StoreBe16(b.data() + 16 + 9 * 18, 0);
  HelloBody hello;
  ASSERT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk);
  ASSERT_EQ(hello.endpoints.size, 13);
  for (const Endpoint& e : hello.endpoints) {
    EXPECT_NE(e.port, 0);
    EXPECT_LT(e.port, 1015) << "nothing from beyond the 15th slot";
  }
  EXPECT_EQ(hello.endpoints.items[3].port, 1004);
}

TEST(WireMalformedTest, PortZeroEndpointsAreSkipped) {
  Bytes b = HelloWithEndpoints(6);
  for (size_t i : {0, 2, 5}) StoreBe16(b.data() + 16 + i * 18, 0);
  HelloBody hello;
  ASSERT_EQ(ParseHelloBody(b.data(), b.size(), &hello), Error::kOk);
  ASSERT_EQ(hello.endpoints.size, 3);
  EXPECT_EQ(hello.endpoints.items[0].port, 1001);
  EXPECT_EQ(hello.endpoints.items[1].port, 1003);
  EXPECT_EQ(hello.endpoints.items[2].port, 1004);
  EXPECT_EQ(hello.endpoints.items[2].addr[15], 4);

  // All port 0: an empty list, not an error.
  Bytes zeros = HelloWithEndpoints(15);
  for (size_t i = 0; i < 15; ++i) StoreBe16(zeros.data() + 16 + i * 18, 0);
  ASSERT_EQ(ParseHelloBody(zeros.data(), zeros.size(), &hello), Error::kOk);
  EXPECT_EQ(hello.endpoints.size, 0);

  // A non-zero port with the unspecified address is kept (only port 0 skips).
  Bytes unspecified = HelloWithEndpoints(1);
  std::memset(unspecified.data() + 18, 0, 16);
  ASSERT_EQ(ParseHelloBody(unspecified.data(), unspecified.size(), &hello), Error::kOk);
  EXPECT_EQ(hello.endpoints.size, 1);

  // UNITE skips them as well.
  UniteBody unite;
  Bytes u(32 + 3 * 18, 0x11);
  StoreBe16(u.data() + 32, 0);
  StoreBe16(u.data() + 32 + 18, 7);
  StoreBe16(u.data() + 32 + 36, 0);
  ASSERT_EQ(ParseUniteBody(u.data(), u.size(), &unite), Error::kOk);
  ASSERT_EQ(unite.endpoints.size, 1);
  EXPECT_EQ(unite.endpoints.items[0].port, 7);
}

TEST(WireMalformedTest, AckWrongLength) {
  Bytes b(100, 0);
  StoreBe64(b.data(), 0x0102030405060708u);
  for (size_t len = 0; len < b.size(); ++len) {
    Bytes exact(b.begin(), b.begin() + len);
    AckBody ack;
    const Error e = ParseAckBody(exact.data(), exact.size(), &ack);
    if (len == kAckBodyBytes) {
      EXPECT_EQ(e, Error::kOk);
      EXPECT_EQ(ack.time, 0x0102030405060708u);
    } else {
      EXPECT_EQ(e, Error::kAckBadLength) << len;
    }
  }
}

Bytes UniteWithEndpoints(size_t n, size_t extra = 0) {
  Bytes b(kUniteFixedBytes + n * kEndpointBytes + extra, 0x33);
  for (size_t i = 0; i < n; ++i) {
    StoreBe16(b.data() + kUniteFixedBytes + i * kEndpointBytes, static_cast<uint16_t>(2000 + i));
  }
  return b;
}

TEST(WireMalformedTest, UniteTooShort) {
  const Bytes b = UniteWithEndpoints(0);
  for (size_t len = 0; len < kUniteFixedBytes; ++len) {
    Bytes exact(b.begin(), b.begin() + len);
    UniteBody unite;
    EXPECT_EQ(ParseUniteBody(exact.data(), exact.size(), &unite), Error::kUniteTooShort) << len;
  }
  UniteBody unite;
  EXPECT_EQ(ParseUniteBody(b.data(), b.size(), &unite), Error::kOk);
  EXPECT_EQ(unite.endpoints.size, 0);
  EXPECT_EQ(unite.address, [] {
    PublicKey k;
    k.fill(0x33);
    return k;
  }());
}

TEST(WireMalformedTest, UniteEndpointLimits) {
  UniteBody unite;
  // 16 = 15 HELLO endpoints + the observed source: the most a UNITE carries.
  Bytes max = UniteWithEndpoints(kMaxEndpoints);
  ASSERT_EQ(ParseUniteBody(max.data(), max.size(), &unite), Error::kOk);
  EXPECT_EQ(unite.endpoints.size, kMaxEndpoints);
  for (size_t n : {17, 18, 100}) {
    Bytes b = UniteWithEndpoints(n);
    EXPECT_EQ(ParseUniteBody(b.data(), b.size(), &unite), Error::kTooManyEndpoints) << n;
  }
  // UNITE lists are not truncated; but port-0 entries do not count.
  Bytes with_zero = UniteWithEndpoints(17);
  StoreBe16(with_zero.data() + kUniteFixedBytes + 5 * kEndpointBytes, 0);
  ASSERT_EQ(ParseUniteBody(with_zero.data(), with_zero.size(), &unite), Error::kOk);
  EXPECT_EQ(unite.endpoints.size, kMaxEndpoints);
  // Misaligned.
  for (size_t r = 1; r < kEndpointBytes; ++r) {
    Bytes b = UniteWithEndpoints(2, r);
    EXPECT_EQ(ParseUniteBody(b.data(), b.size(), &unite), Error::kEndpointsMisaligned) << r;
  }
  // Misalignment is reported before an over-long list.
  Bytes b = UniteWithEndpoints(20, 1);
  EXPECT_EQ(ParseUniteBody(b.data(), b.size(), &unite), Error::kEndpointsMisaligned);
}

TEST(WireMalformedTest, ParseEndpointsDirectly) {
  EndpointList list;
  EXPECT_EQ(ParseEndpoints(nullptr, 0, &list), Error::kOk);
  EXPECT_EQ(list.size, 0);
  Bytes b(17 * kEndpointBytes, 0);
  for (size_t i = 0; i < 17; ++i) StoreBe16(b.data() + i * 18, static_cast<uint16_t>(i + 1));
  EXPECT_EQ(ParseEndpoints(b.data(), 16 * 18, &list), Error::kOk);
  EXPECT_EQ(list.size, 16);
  EXPECT_EQ(ParseEndpoints(b.data(), 17 * 18, &list), Error::kTooManyEndpoints);
  EXPECT_EQ(ParseEndpoints(b.data(), 17 * 18 - 1, &list), Error::kEndpointsMisaligned);
  EXPECT_EQ(list.size, 0) << "reset on failure before reading";
  // push_back refuses beyond capacity.
  EndpointList full;
  for (size_t i = 0; i < kMaxEndpoints; ++i) EXPECT_TRUE(full.push_back(Endpoint{}));
  EXPECT_FALSE(full.push_back(Endpoint{}));
  EXPECT_EQ(full.size, kMaxEndpoints);
}

// Every Error value that parsing can produce, reached on purpose, in one place.
TEST(WireMalformedTest, EveryParseErrorIsReachable) {
  EnsureSodium();
  std::set<Error> reached;
  Header h{};
  const Bytes valid = ValidMessage();
  reached.insert(ParseHeader(valid.data(), 78, &h));
  Bytes m = valid;
  m[0] = 0;
  reached.insert(ParseHeader(m.data(), m.size(), &h));
  m = valid;
  m[off::kType] = 4;
  reached.insert(ParseHeader(m.data(), m.size(), &h));
  const SessionKey key = RandomKey();
  uint8_t* body;
  size_t body_len;
  Bytes armed(kHeaderBytes + kArmOverhead, 0);
  reached.insert(Disarm(armed.data(), armed.size() - 1, key, &body, &body_len));
  reached.insert(Disarm(armed.data(), armed.size(), key, &body, &body_len));
  HelloBody hello;
  Bytes hb = HelloWithEndpoints(1);
  reached.insert(ParseHelloBody(hb.data(), 15, &hello));
  reached.insert(ParseHelloBody(hb.data(), 17, &hello));
  StoreBe64(hb.data() + 8, 0);
  reached.insert(ParseHelloBody(hb.data(), hb.size(), &hello));
  AckBody ack;
  reached.insert(ParseAckBody(hb.data(), 9, &ack));
  UniteBody unite;
  Bytes ub = UniteWithEndpoints(17);
  reached.insert(ParseUniteBody(ub.data(), 31, &unite));
  reached.insert(ParseUniteBody(ub.data(), ub.size(), &unite));
  reached.insert(ParseUniteBody(ub.data(), 32, &unite));

  std::set<Error> expected;
  for (int e = 0; e < static_cast<int>(Error::kCount); ++e) {
    if (static_cast<Error>(e) != Error::kBufferTooSmall) expected.insert(static_cast<Error>(e));
  }
  EXPECT_EQ(reached, expected);
}

// ---------------------------------------------------------------------------
// Endpoint <-> SocketAddress.

TEST(WireEndpointTest, Ipv4TravelsIpv4Mapped) {
  const SocketAddress v4 = SocketAddress::V4(0xc0a80707, 4444);
  const Endpoint e = Endpoint::From(v4);
  EXPECT_EQ(e.port, 4444);
  EXPECT_EQ(Hex(e.addr.data(), 16), "00000000000000000000ffffc0a80707");
  EXPECT_EQ(e.ToSocketAddress(), v4);
  EXPECT_TRUE(e.ToSocketAddress().is_v4());

  // The 18 wire bytes.
  EndpointList list = ListOf({e});
  uint8_t out[18];
  ASSERT_EQ(WriteEndpoints(list, out), 18u);
  EXPECT_EQ(Hex(out, 18), "115c00000000000000000000ffffc0a80707");
}

TEST(WireEndpointTest, Ipv6) {
  absl::StatusOr<SocketAddress> v6 = SocketAddress::Parse("[2001:db8::7]:4445");
  ASSERT_TRUE(v6.ok());
  const Endpoint e = Endpoint::From(*v6);
  EXPECT_EQ(e.port, 4445);
  EXPECT_EQ(Hex(e.addr.data(), 16), "20010db8000000000000000000000007");
  EXPECT_EQ(e.ToSocketAddress(), *v6);
  EXPECT_TRUE(e.ToSocketAddress().is_v6());
}

TEST(WireEndpointTest, Ipv4MappedIpv6FoldsToIpv4) {
  absl::StatusOr<SocketAddress> mapped = SocketAddress::Parse("[::ffff:198.51.100.9]:50000");
  ASSERT_TRUE(mapped.ok());
  ASSERT_TRUE(mapped->is_v6());
  const Endpoint e = Endpoint::From(*mapped);
  EXPECT_EQ(e, Endpoint::From(SocketAddress::V4(0xc6336409, 50000)));
  EXPECT_EQ(e.ToSocketAddress(), SocketAddress::V4(0xc6336409, 50000));
}

TEST(WireEndpointTest, OtherIpv6FormsStayIpv6) {
  for (const char* text : {"[::]:1", "[::1]:2", "[::1.2.3.4]:3", "[::fffe:1.2.3.4]:4",
                           "[64:ff9b::1.2.3.4]:5", "[ffff::1]:6"}) {
    absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
    ASSERT_TRUE(a.ok()) << text;
    const Endpoint e = Endpoint::From(*a);
    EXPECT_EQ(e.ToSocketAddress(), *a) << text;
    EXPECT_TRUE(e.ToSocketAddress().is_v6()) << text;
  }
}

TEST(WireEndpointTest, ScopeIdIsNotCarried) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[fe80::1%7]:9");
  ASSERT_TRUE(a.ok());
  const Endpoint e = Endpoint::From(*a);
  EXPECT_EQ(e.ToSocketAddress(), *SocketAddress::Parse("[fe80::1]:9"));
}

TEST(WireEndpointTest, AnyEndpointSurvivesSocketAddressRoundTrip) {
  Rng rng(0x5eed0008);
  for (int i = 0; i < 10000; ++i) {
    Endpoint e = rng.RandomEndpoint();
    if (i % 3 == 0) e.port = 0;
    EXPECT_EQ(Endpoint::From(e.ToSocketAddress()), e);
  }
}

}  // namespace
}  // namespace drasyl::wire
