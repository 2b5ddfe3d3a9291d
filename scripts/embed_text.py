#!/usr/bin/env python3
"""Embed a text file in C++ as `std::string_view NAME()`: embed_text.py IN OUT NAME."""
import sys

src, dst, name = sys.argv[1:4]
data = open(src, 'rb').read()
ns, _, fn = name.rpartition('::')
body = ''.join('\\x%02x' % b for b in data)
with open(dst, 'w') as f:
    f.write('#include <string_view>\n')
    f.write('namespace %s {\n' % ns)
    f.write('std::string_view %s() noexcept {\n' % fn)
    f.write('    static constexpr char text[] = "%s";\n' % body)
    f.write('    return {text, sizeof text - 1};\n}\n}\n')
