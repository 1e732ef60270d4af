# Writes the bytes of INPUT as a comma-separated C initializer list to OUTPUT (for `= { #include OUTPUT }`).
# Usage: cmake -DINPUT=file.bc -DOUTPUT=file.inc -P EmbedFile.cmake
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUTPUT} "${bytes}\n")
