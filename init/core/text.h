// Small text rules shared by the parsers and their messages: untrusted bytes
// shown safely, the name alphabet of versions and board names, lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata {

// Untrusted text in a message: quoted, non-printable bytes as \xNN, cut
// after 40 bytes ("...").
std::string quoted(std::string_view s);
// One untrusted byte: 'c', or 0xNN when not printable.
std::string quoted_char(char c);

// The alphabet of versions and board names ([A-Za-z0-9._+~:-]): such a value
// can never break a line of a header or record, a message or a file name.
bool is_name_char(char c);
inline constexpr size_t kMaxNameLength = 64;
// 1..kMaxNameLength characters of that alphabet.
bool is_name(std::string_view s);

// The lines of `text`, without their "\n" (a last line without one too).
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace strata
