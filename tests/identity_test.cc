// Identity, proof of work and identity file (docs/protocol.md §1).
#include "common/identity.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/hex.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/node_emulator.h"

namespace drasyl {
namespace {

using ::testing::HasSubstr;

// The secret keys and pows of the fixed identities A, B and C (docs/protocol.md §1).
using testing::kPowA;
using testing::kPowB;
using testing::kPowC;
using testing::kSkA;
using testing::kSkB;
using testing::kSkC;

const std::vector<std::pair<const char*, int32_t>> kAbc = {
    {kSkA, kPowA}, {kSkB, kPowB}, {kSkC, kPowC}};

PublicKey Pk(const std::string& hex) {
  PublicKey pk;
  CHECK(HexDecodeInto(hex, absl::MakeSpan(pk)).ok()) << hex;
  return pk;
}

SecretKey Sk(const std::string& hex) {
  SecretKey sk;
  CHECK(HexDecodeInto(hex, absl::MakeSpan(sk)).ok()) << hex;
  return sk;
}

Identity IdentityOf(const std::string& sk_hex, int32_t pow) {
  Identity id;
  id.secret_key = Sk(sk_hex);
  std::copy(id.secret_key.begin() + 32, id.secret_key.end(), id.public_key.begin());
  id.pow = pow;
  return id;
}

std::string IdentityText(const std::string& sk_hex, const std::string& pow) {
  return absl::StrCat("[Identity]\nSecretKey = ", sk_hex, "\nProofOfWork = ", pow, "\n");
}

// A fresh directory per test, so tests never see each other's files.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "identity_test.XXXXXX";
    CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

  std::vector<std::string> List() const {
    std::vector<std::string> names;
    std::string cmd = absl::StrCat("ls -A '", path_, "'");
    FILE* p = popen(cmd.c_str(), "r");
    char line[512];
    while (fgets(line, sizeof(line), p) != nullptr) {
      std::string s(line);
      if (!s.empty() && s.back() == '\n') s.pop_back();
      names.push_back(s);
    }
    pclose(p);
    return names;
  }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  CHECK(out.good());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Collects glog messages so the "not found" line can be checked verbatim.
class CapturingSink : public google::LogSink {
 public:
  CapturingSink() { google::AddLogSink(this); }
  ~CapturingSink() override { google::RemoveLogSink(this); }
  void send(google::LogSeverity severity, const char* full_filename, const char* base_filename,
            int line, const google::LogMessageTime& time, const char* message,
            size_t message_len) override {
    absl::MutexLock lock(&mu_);
    messages_.emplace_back(message, message_len);
  }
  std::vector<std::string> messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> messages_;
};

// --- Proof of work ----------------------------------------------------------

TEST(Sha256, SanityVector) {
  ASSERT_GE(sodium_init(), 0);
  const std::string msg = "Hello, World!";
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  EXPECT_EQ(HexEncode(digest), "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f");
}

TEST(Pow, ReferenceValidVector) {
  PublicKey pk = Pk("9331341e09d313baa4027a2fccea4fd471b9637f2305de714009c46b9192e006");
  EXPECT_TRUE(PowValid(pk, -2130520098, 24));
  EXPECT_GE(PowDifficulty(pk, -2130520098), 24);
}

TEST(Pow, ReferenceInvalidVector) {
  PublicKey pk = Pk("38fddd8d068165f227199b521bf91c09577231f05cae822d78c04be7595fb81d");
  EXPECT_FALSE(PowValid(pk, -2110011455, 24));
  EXPECT_LT(PowDifficulty(pk, -2110011455), 24);
}

TEST(Pow, IdentitiesAbcValidAt24) {
  for (auto [sk, pow] : kAbc) {
    Identity id = IdentityOf(sk, pow);
    EXPECT_TRUE(PowValid(id.public_key, id.pow, kDefaultMinPowDifficulty)) << sk;
  }
}

// Recomputes the definition directly, so PowDifficulty's fast path (reused
// SHA-256 state, to_chars) is checked against the plain formula.
int SlowDifficulty(const PublicKey& pk, int32_t pow) {
  std::string input = HexEncode(pk) + std::to_string(pow);
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  int bits = 0;
  for (uint8_t b : digest) {
    if (b == 0) {
      bits += 8;
      continue;
    }
    for (int i = 7; i >= 0 && !(b >> i & 1); --i) ++bits;
    break;
  }
  return bits;
}

TEST(Pow, DifficultyMatchesDefinition) {
  ASSERT_GE(sodium_init(), 0);
  PublicKey pk = Pk("9331341e09d313baa4027a2fccea4fd471b9637f2305de714009c46b9192e006");
  for (int32_t pow : {INT32_MIN, INT32_MIN + 1, -2130520098, -1, 0, 1, 42, 999999, INT32_MAX}) {
    EXPECT_EQ(PowDifficulty(pk, pow), SlowDifficulty(pk, pow)) << pow;
  }
  EXPECT_EQ(PowDifficulty(pk, -2130520098), SlowDifficulty(pk, -2130520098));
  EXPECT_GE(PowDifficulty(pk, -2130520098), 24);
}

TEST(Pow, DifficultyThresholds) {
  PublicKey pk = Pk("9331341e09d313baa4027a2fccea4fd471b9637f2305de714009c46b9192e006");
  int d = PowDifficulty(pk, -2130520098);
  EXPECT_GE(d, 0);
  EXPECT_LE(d, 256);
  EXPECT_TRUE(PowValid(pk, -2130520098, 0));
  EXPECT_TRUE(PowValid(pk, -2130520098, d));
  EXPECT_FALSE(PowValid(pk, -2130520098, d + 1));
  EXPECT_FALSE(PowValid(pk, -2130520098, 257));
}

TEST(FindPow, SmallDifficultiesGiveValidValues) {
  PublicKey pk = Pk("38fddd8d068165f227199b521bf91c09577231f05cae822d78c04be7595fb81d");
  for (int d = 8; d <= 16; ++d) {
    absl::StatusOr<int32_t> pow = FindPow(pk, d);
    ASSERT_TRUE(pow.ok()) << pow.status();
    EXPECT_TRUE(PowValid(pk, *pow, d)) << "difficulty " << d << " pow " << *pow;
  }
}

TEST(FindPow, ResultIsFirstValidFromInt32MinRegardlessOfThreads) {
  PublicKey pk = Pk("9331341e09d313baa4027a2fccea4fd471b9637f2305de714009c46b9192e006");
  absl::StatusOr<int32_t> one = FindPow(pk, 12, 1);
  ASSERT_TRUE(one.ok()) << one.status();
  for (int64_t v = INT32_MIN; v < *one; ++v) {
    ASSERT_FALSE(PowValid(pk, static_cast<int32_t>(v), 12)) << v;
  }
  for (int threads : {2, 3, 8}) {
    absl::StatusOr<int32_t> many = FindPow(pk, 12, threads);
    ASSERT_TRUE(many.ok()) << many.status();
    EXPECT_EQ(*many, *one) << threads << " threads";
  }
}

// The pows of A, B and C are the first valid values counting up from
// INT32_MIN: this reproduces the reference's own search at the default
// difficulty. B (31M hashes) is left out to keep the test short; A and C
// take 19M.
TEST(FindPow, ReproducesReferenceAtDefaultDifficulty) {
  for (auto [sk, expected] : {kAbc[0], kAbc[2]}) {
    Identity id = IdentityOf(sk, expected);
    absl::StatusOr<int32_t> pow = FindPow(id.public_key, kDefaultMinPowDifficulty);
    ASSERT_TRUE(pow.ok()) << pow.status();
    EXPECT_EQ(*pow, expected);
  }
}

TEST(FindPow, DifficultyZeroAndOutOfRange) {
  PublicKey pk{};
  absl::StatusOr<int32_t> zero = FindPow(pk, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, INT32_MIN);
  EXPECT_FALSE(FindPow(pk, -1).ok());
  EXPECT_FALSE(FindPow(pk, 257).ok());
}

// --- Keys -------------------------------------------------------------------

TEST(PublicKeyOf, ReferenceVector) {
  SecretKey sk = Sk(
      "3e6499116ba86b4884345891f3421a5a16c902247326928ce41c10ad8a66bd1f668178a3be9ad22f4f6e94c835ac82"
      "4cf365db86bb486ab4a42c021dec09c0e4");
  absl::StatusOr<PublicKey> pk = PublicKeyOf(sk);
  ASSERT_TRUE(pk.ok()) << pk.status();
  EXPECT_EQ(HexEncode(*pk), "668178a3be9ad22f4f6e94c835ac824cf365db86bb486ab4a42c021dec09c0e4");
}

TEST(PublicKeyOf, IdentitiesAbc) {
  for (const char* sk_hex : {kSkA, kSkB, kSkC}) {
    absl::StatusOr<PublicKey> pk = PublicKeyOf(Sk(sk_hex));
    ASSERT_TRUE(pk.ok()) << pk.status();
    EXPECT_EQ(HexEncode(*pk), std::string(sk_hex).substr(64));
  }
}

TEST(PublicKeyOf, MismatchedHalvesRejected) {
  SecretKey sk = Sk(kSkA);
  sk[40] ^= 1;
  EXPECT_FALSE(PublicKeyOf(sk).ok());
  // The public half of another identity.
  std::string mixed = std::string(kSkA).substr(0, 64) + std::string(kSkB).substr(64);
  EXPECT_FALSE(PublicKeyOf(Sk(mixed)).ok());
}

TEST(GenerateIdentity, SmallDifficulty) {
  absl::StatusOr<Identity> id = GenerateIdentity(10);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(PowValid(id->public_key, id->pow, 10));
  absl::StatusOr<PublicKey> pk = PublicKeyOf(id->secret_key);
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(*pk, id->public_key);

  absl::StatusOr<Identity> other = GenerateIdentity(10, 1);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->public_key, id->public_key);
}

// --- Identity file text -----------------------------------------------------

TEST(IdentityFile, FormatIsTheReferenceLayout) {
  Identity a = IdentityOf(kSkA, kPowA);
  EXPECT_EQ(FormatIdentityFile(a), IdentityText(kSkA, "-2144630954"));
}

TEST(IdentityFile, FormatParseRoundTrip) {
  for (auto [sk, pow] : kAbc) {
    Identity id = IdentityOf(sk, pow);
    absl::StatusOr<Identity> parsed = ParseIdentityFile(FormatIdentityFile(id));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->secret_key, id.secret_key);
    EXPECT_EQ(parsed->public_key, id.public_key);
    EXPECT_EQ(parsed->pow, id.pow);
  }
  for (int32_t pow : {INT32_MIN, -1, 0, 7, INT32_MAX}) {
    Identity id = IdentityOf(kSkA, pow);
    absl::StatusOr<Identity> parsed = ParseIdentityFile(FormatIdentityFile(id));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->pow, pow);
  }
}

TEST(IdentityFile, WhitespaceVariantsParse) {
  const std::string sk = kSkA;
  const std::string upper = absl::AsciiStrToUpper(sk);
  const std::vector<std::string> variants = {
      absl::StrCat("[Identity]\nSecretKey=", sk, "\nProofOfWork=-2144630954"),
      absl::StrCat("  [Identity]  \n\tSecretKey\t=\t", sk, "  \n   ProofOfWork   =   -2144630954   \n"),
      absl::StrCat("[Identity]\r\nSecretKey = ", sk, "\r\nProofOfWork = -2144630954\r\n"),
      absl::StrCat("\n\n[Identity]\n\n# comment\nProofOfWork = -2144630954\n\nSecretKey = ", sk,
                   "\n\n"),
      absl::StrCat("[Identity]\nSecretKey = ", upper, "\nProofOfWork = -2144630954\n"),
      absl::StrCat("[Identity]\nSomethingElse = 1\nSecretKey = ", sk,
                   "\nProofOfWork = -2144630954\n"),
  };
  for (const std::string& text : variants) {
    absl::StatusOr<Identity> id = ParseIdentityFile(text);
    ASSERT_TRUE(id.ok()) << id.status() << "\n" << text;
    EXPECT_EQ(id->secret_key, Sk(kSkA));
    EXPECT_EQ(HexEncode(id->public_key), sk.substr(64));
    EXPECT_EQ(id->pow, kPowA);
  }
}

TEST(IdentityFile, PowWithPlusSignParses) {
  absl::StatusOr<Identity> id = ParseIdentityFile(IdentityText(kSkA, "+2147483647"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->pow, INT32_MAX);
}

TEST(IdentityFile, MalformedFormsRejected) {
  const std::string sk = kSkA;
  const std::string mismatched = sk.substr(0, 64) + std::string(kSkB).substr(64);
  std::string bad_hex = sk;
  bad_hex[10] = 'g';
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty file", ""},
      {"only whitespace", " \n\t\n"},
      {"missing section", absl::StrCat("SecretKey = ", sk, "\nProofOfWork = -2144630954\n")},
      {"missing SecretKey", "[Identity]\nProofOfWork = -2144630954\n"},
      {"missing ProofOfWork", absl::StrCat("[Identity]\nSecretKey = ", sk, "\n")},
      {"only section", "[Identity]\n"},
      {"bad hex", IdentityText(bad_hex, "-2144630954")},
      {"short key", IdentityText(sk.substr(0, 126), "-2144630954")},
      {"public key only", IdentityText(sk.substr(64), "-2144630954")},
      {"long key", IdentityText(sk + "00", "-2144630954")},
      {"odd-length key", IdentityText(sk.substr(0, 127), "-2144630954")},
      {"empty key", IdentityText("", "-2144630954")},
      {"mismatched halves", IdentityText(mismatched, "-2144630954")},
      {"pow overflow", IdentityText(sk, "2147483648")},
      {"pow underflow", IdentityText(sk, "-2147483649")},
      {"pow huge", IdentityText(sk, "99999999999999999999")},
      {"pow non-numeric", IdentityText(sk, "abc")},
      {"pow trailing junk", IdentityText(sk, "123abc")},
      {"pow fraction", IdentityText(sk, "1.5")},
      {"pow double sign", IdentityText(sk, "+-5")},
      {"pow double plus", IdentityText(sk, "++5")},
      {"pow lone sign", IdentityText(sk, "-")},
      {"pow hex", IdentityText(sk, "0x10")},
      {"pow empty", IdentityText(sk, "")},
      {"pow inner space", IdentityText(sk, "- 5")},
      {"no '='", absl::StrCat("[Identity]\nSecretKey ", sk, "\nProofOfWork = 1\n")},
      {"duplicate SecretKey",
       absl::StrCat(IdentityText(sk, "-2144630954"), "SecretKey = ", std::string(kSkB), "\n")},
      {"duplicate ProofOfWork", absl::StrCat(IdentityText(sk, "-2144630954"), "ProofOfWork = 1\n")},
      {"wrong section name", absl::StrCat("[Identitty]\nSecretKey = ", sk, "\nProofOfWork = 1\n")},
      {"binary junk", std::string("\0\x01\x02\xff", 4)},
  };
  for (const auto& [name, text] : cases) {
    absl::StatusOr<Identity> id = ParseIdentityFile(text);
    EXPECT_FALSE(id.ok()) << name;
    if (!id.ok()) {
      EXPECT_FALSE(id.status().message().empty()) << name;
      EXPECT_NE(id.status().code(), absl::StatusCode::kNotFound) << name;
    }
  }
}

TEST(IdentityFile, ErrorMessagesNameTheProblem) {
  EXPECT_THAT(ParseIdentityFile("").status().message(), HasSubstr("[Identity]"));
  EXPECT_THAT(ParseIdentityFile("[Identity]\nProofOfWork = 1\n").status().message(),
              HasSubstr("SecretKey"));
  EXPECT_THAT(ParseIdentityFile(absl::StrCat("[Identity]\nSecretKey = ", kSkA, "\n"))
                  .status()
                  .message(),
              HasSubstr("ProofOfWork"));
  EXPECT_THAT(ParseIdentityFile(IdentityText(kSkA, "2147483648")).status().message(),
              HasSubstr("2147483648"));
}

// --- Identity file on disk --------------------------------------------------

TEST(IdentityFileIo, SaveLoadRoundTripMode0600NoTempLeft) {
  TempDir dir;
  const std::string path = dir.File("drasyl.identity");
  Identity a = IdentityOf(kSkA, kPowA);
  ASSERT_TRUE(SaveIdentityFile(path, a).ok());

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(ReadText(path), FormatIdentityFile(a));
  EXPECT_THAT(dir.List(), ::testing::ElementsAre("drasyl.identity"));

  absl::StatusOr<Identity> loaded = LoadIdentityFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->secret_key, a.secret_key);
  EXPECT_EQ(loaded->public_key, a.public_key);
  EXPECT_EQ(loaded->pow, a.pow);
}

TEST(IdentityFileIo, SaveReplacesAtomicallyAndFixesMode) {
  TempDir dir;
  const std::string path = dir.File("id");
  WriteFile(path, "old content");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Identity b = IdentityOf(kSkB, kPowB);
  ASSERT_TRUE(SaveIdentityFile(path, b).ok());
  EXPECT_EQ(ReadText(path), FormatIdentityFile(b));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_THAT(dir.List(), ::testing::ElementsAre("id"));
}

TEST(IdentityFileIo, SaveIntoMissingDirectoryNamesPath) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/id");
  absl::Status s = SaveIdentityFile(path, IdentityOf(kSkA, kPowA));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST(IdentityFileIo, LoadMissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("missing.identity");
  absl::StatusOr<Identity> id = LoadIdentityFile(path);
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(absl::IsNotFound(id.status())) << id.status();
  EXPECT_THAT(id.status().message(), HasSubstr(path));
}

TEST(IdentityFileIo, UnreadablePathsAreNotNotFound) {
  TempDir dir;
  const std::string file = dir.File("regular");
  WriteFile(file, "x");
  // Tests run as root, so permission bits alone would not stop reading:
  // use a directory and a path below a regular file instead.
  for (const std::string& path : {dir.path(), file + "/id"}) {
    absl::StatusOr<Identity> id = LoadIdentityFile(path);
    ASSERT_FALSE(id.ok()) << path;
    EXPECT_FALSE(absl::IsNotFound(id.status())) << path << ": " << id.status();
    EXPECT_THAT(id.status().message(), HasSubstr(path));
  }
  if (geteuid() != 0) {
    const std::string locked = dir.File("locked");
    WriteFile(locked, IdentityText(kSkA, "-2144630954"));
    ASSERT_EQ(chmod(locked.c_str(), 0), 0);
    absl::StatusOr<Identity> id = LoadIdentityFile(locked);
    ASSERT_FALSE(id.ok());
    EXPECT_TRUE(absl::IsPermissionDenied(id.status())) << id.status();
    EXPECT_THAT(id.status().message(), HasSubstr(locked));
  }
}

TEST(IdentityFileIo, MalformedFileErrorNamesPath) {
  TempDir dir;
  const std::string path = dir.File("bad.identity");
  WriteFile(path, IdentityText(kSkA, "2147483648"));
  absl::StatusOr<Identity> id = LoadIdentityFile(path);
  ASSERT_FALSE(id.ok());
  EXPECT_FALSE(absl::IsNotFound(id.status()));
  EXPECT_THAT(id.status().message(), HasSubstr(path));
  EXPECT_THAT(id.status().message(), HasSubstr("ProofOfWork"));
}

TEST(LoadOrCreateIdentity, GeneratesThenLoadsTheSameIdentity) {
  TempDir dir;
  const std::string path = dir.File("drasyl.identity");
  CapturingSink sink;
  absl::StatusOr<Identity> first = LoadOrCreateIdentity(path, 12);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(PowValid(first->public_key, first->pow, 12));
  EXPECT_THAT(sink.messages(),
              ::testing::Contains(
                  absl::StrCat("Identity file '", path, "' not found. Generate new one...")));

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_THAT(dir.List(), ::testing::ElementsAre("drasyl.identity"));

  const size_t logged = sink.messages().size();
  absl::StatusOr<Identity> second = LoadOrCreateIdentity(path, 12);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->secret_key, first->secret_key);
  EXPECT_EQ(second->public_key, first->public_key);
  EXPECT_EQ(second->pow, first->pow);
  EXPECT_EQ(sink.messages().size(), logged) << "nothing generated the second time";
}

TEST(LoadOrCreateIdentity, LoadsExistingReferenceFile) {
  TempDir dir;
  const std::string path = dir.File("netsody.identity");
  WriteFile(path, IdentityText(kSkC, "-2131760488"));
  absl::StatusOr<Identity> id = LoadOrCreateIdentity(path, kDefaultMinPowDifficulty);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->secret_key, Sk(kSkC));
  EXPECT_EQ(id->pow, kPowC);
}

TEST(LoadOrCreateIdentity, NeverOverwritesMalformedOrUnreadableFile) {
  TempDir dir;
  const std::string sk = kSkA;
  const std::vector<std::string> contents = {
      "",
      "garbage",
      IdentityText(sk, "2147483648"),
      IdentityText(sk.substr(0, 64) + std::string(kSkB).substr(64), "1"),
      absl::StrCat("[Identity]\nSecretKey = ", sk, "\n"),
  };
  int i = 0;
  for (const std::string& text : contents) {
    const std::string path = dir.File(absl::StrCat("bad", i++));
    WriteFile(path, text);
    absl::StatusOr<Identity> id = LoadOrCreateIdentity(path, 8);
    EXPECT_FALSE(id.ok()) << text;
    EXPECT_FALSE(absl::IsNotFound(id.status()));
    EXPECT_THAT(id.status().message(), HasSubstr(path));
    EXPECT_EQ(ReadText(path), text) << "file was modified";
  }
  // A directory in the way is an error too, and stays a directory.
  const std::string subdir = dir.File("subdir");
  ASSERT_EQ(mkdir(subdir.c_str(), 0700), 0);
  EXPECT_FALSE(LoadOrCreateIdentity(subdir, 8).ok());
  struct stat st;
  ASSERT_EQ(stat(subdir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

}  // namespace
}  // namespace drasyl
