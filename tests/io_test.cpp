// io: atomic writes, archives refuse truncated or foreign data, logs cut back to a length.
#include "ddpg/io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "ddpg/rng.h"
#include "ddpg/rollout.h"
#include "tests/test_util.h"

namespace ddpg {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/ddpg_io_XXXXXX";
  return mkdtemp(tmpl);
}

// The rollout's actions CSV: blank lines skipped, every fault named with its line; no NaN or
// infinity reaches an env, and a NUL byte inside a cell does not cut the cell short.
TEST(ActionsCsv, ParsesRowsAndNamesEachFault) {
  const auto rows = parse_actions_csv("0.5, -1\n\n  \r\n1e-3,2\r\n", 2, "a.csv", "E");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1], (std::vector<double>{1e-3, 2}));
  auto err = [](const std::string& text) {
    return error_of([&] { parse_actions_csv(text, 2, "a.csv", "E-v0"); });
  };
  EXPECT_EQ(err("1,2\n1,x\n"), "a.csv:2: 'x' is not a number");
  EXPECT_EQ(err("1,nan\n"), "a.csv:1: 'nan' is not a finite number");
  EXPECT_EQ(err("-inf,1\n"), "a.csv:1: '-inf' is not a finite number");
  EXPECT_EQ(err("1,2,3\n"), "a.csv:1: 3 values, but E-v0 takes 2 per action");
  EXPECT_EQ(err("1\n"), "a.csv:1: 1 values, but E-v0 takes 2 per action");
  EXPECT_EQ(err("1,"), "a.csv:1: 1 values, but E-v0 takes 2 per action");
  EXPECT_EQ(err(std::string("1,2\0"
                            "5\n",
                            6)),
            "a.csv:1: '2\\x005' is not a number");
}

TEST(Archive, RoundTrip) {
  ArchiveWriter w("MAGIC___", 3);
  w.u64(42);
  w.f64(-1.5);
  w.str("hello");
  const float f[3] = {1, 2, 3};
  w.floats(f, 3);
  ArchiveReader r(w.finish(), "MAGIC___", 3, "t");
  EXPECT_EQ(r.u64(), 42u);
  EXPECT_EQ(r.f64(), -1.5);
  EXPECT_EQ(r.str(), "hello");
  float g[3];
  r.floats(g, 3, "f");
  EXPECT_EQ(g[2], 3.0f);
  EXPECT_TRUE(r.at_end());
}

TEST(Archive, RefusesTruncatedForeignOrWrongVersion) {
  ArchiveWriter w("MAGIC___", 3);
  for (int i = 0; i < 100; ++i) w.u64(i);
  const std::string data = w.finish();
  EXPECT_THROW(ArchiveReader(data.substr(0, data.size() - 10), "MAGIC___", 3, "t"), Error);
  EXPECT_THROW(ArchiveReader(data, "OTHER___", 3, "t"), Error);
  EXPECT_THROW(ArchiveReader(data, "MAGIC___", 4, "t"), Error);
  std::string flipped = data;
  flipped[40] ^= 1;
  EXPECT_THROW(ArchiveReader(flipped, "MAGIC___", 3, "t"), Error);
  ArchiveReader ok(data, "MAGIC___", 3, "t");
  float f[2];
  EXPECT_THROW(ok.floats(f, 2, "x"), Error);  // a u64 0 is read as count 0 != 2
}

TEST(Files, AtomicWriteLeavesNoTemporary) {
  const std::string dir = temp_dir();
  write_file_atomic(dir + "/a.txt", "one");
  write_file_atomic(dir + "/a.txt", "two");
  EXPECT_EQ(read_file(dir + "/a.txt"), "two");
  EXPECT_EQ(system(("test $(ls " + dir + " | wc -l) -eq 1").c_str()), 0);
  EXPECT_THROW(read_file(dir + "/missing"), Error);
}

TEST(LineLog, HeaderOnceAndTruncate) {
  const std::string dir = temp_dir();
  {
    LineLog log;
    log.open(dir + "/p.csv", "a,b");
    log.append("1,2");
    const uint64_t keep = log.size();
    log.append("3,4");
    log.truncate_to(keep);
  }
  LineLog again;
  again.open(dir + "/p.csv", "a,b");
  again.append("5,6");
  again.close();
  EXPECT_EQ(read_file(dir + "/p.csv"), "a,b\n1,2\n5,6\n");
}

TEST(Rng, DeterministicStreamsAndRanges) {
  Rng a(1), b(1), c(2);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  EXPECT_NE(Rng::derive(0, 1), Rng::derive(0, 2));
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = a.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    EXPECT_LT(a.below(7), 7u);
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
}

TEST(Format, DoublesRoundTrip) {
  for (double v : {0.1, 1.0 / 3.0, -152.09912, 1e-300, 12345678.9}) {
    EXPECT_EQ(std::strtod(format_double(v).c_str(), nullptr), v);
  }
  EXPECT_EQ(format_double(0.5), "0.5");
}

}  // namespace
}  // namespace ddpg

namespace ddpg {
namespace {

// Inputs are bounded: only regular files are read, and text inputs have a size limit.
TEST(Io, ReadFileRefusesNonRegularFilesAndOversizedText) {
  EXPECT_THROW(read_file("/tmp"), Error);
  EXPECT_THROW(read_file("/dev/zero"), Error);
  const std::string path = "/tmp/ddpg_io_limit_test.txt";
  write_file_atomic(path, std::string(2000, 'x'));
  EXPECT_EQ(read_file(path).size(), 2000u);
  EXPECT_EQ(read_file(path, 2000).size(), 2000u);
  try {
    read_file(path, 1999);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is 2000 bytes"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ddpg
