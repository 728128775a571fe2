# Shared by demo.sh and test.sh: the few system packages Python cannot install.
# (test.sh also wants a browser for the console tests.)
# The weekly report's PDF needs Pango (WeasyPrint) and every chart and page needs a Chinese font;
# installed from Debian/Ubuntu packages when missing. Elsewhere: install a CJK font (e.g. Noto Sans
# CJK SC) and Pango yourself, or set FENGHUO_REPORT_FONT.
set -euo pipefail
# (grep without -q below: -q stops reading early, the writer then dies of SIGPIPE, and pipefail
# would count a package present as missing.)

system_missing=()
ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)  # not on a normal user's PATH
fc-list :lang=zh-cn family 2>/dev/null | grep . >/dev/null || system_missing+=(fonts-noto-cjk)
command -v fc-match >/dev/null 2>&1 || system_missing+=(fontconfig)
"$ldconfig_bin" -p 2>/dev/null | grep 'libpango-1.0.so' >/dev/null || system_missing+=(libpango-1.0-0 libpangoft2-1.0-0)
"$ldconfig_bin" -p 2>/dev/null | grep 'libharfbuzz-subset.so' >/dev/null || system_missing+=(libharfbuzz-subset0)

# The console's end-to-end tests drive Debian's chromium (scripts/test.sh sets FENGHUO_WANT_BROWSER).
if [ -n "${FENGHUO_WANT_BROWSER:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  system_missing+=(chromium)
fi

if [ ${#system_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${system_missing[*]} (apt-get)" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${system_missing[@]}" >&2
  else
    echo "warning: missing ${system_missing[*]}; weekly reports (PDF, Chinese charts) will fail until installed" >&2
  fi
fi
