# Writes the BPF object IN as a byte array into the C++ source OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE ${OUT} "// Generated from relay_filter.bpf.o by embed_object.cmake.\n#include <cstddef>\n#include <cstdint>\nnamespace drasyl::afxdp {\nextern const uint8_t kRelayFilterObject[] = {\n${body}};\nextern const size_t kRelayFilterObjectSize = ${bytes};\n}  // namespace drasyl::afxdp\n")
