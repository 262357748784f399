#!/usr/bin/env bash
# The one test command: ./test.sh [dotnet test options], e.g. ./test.sh --filter "FullyQualifiedName~Redis".
# On a fresh Debian machine it installs what the tests need (redis-server; oathtool, the independent TOTP the CLI
# tests check against; chromium and chromium-driver for the browser tests, a Chinese font for their screenshots),
# starts a private redis-server on a free 127.0.0.1 port (unless RISKENGINE_REDIS already names one), runs
# `dotnet test RiskEngine.sln "$@"`, stops that Redis on exit and exits with dotnet test's code. When everything is
# present it installs nothing and asks no one.
set -uo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: dotnet SDK not found on PATH; this project needs the .NET 10 SDK" >&2
  exit 1
fi

# --- what the tests need from Debian: command -> package ------------------------------------------------------
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v oathtool >/dev/null 2>&1 || missing+=(oathtool)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# a Chinese font, so that the console's 简体中文 screenshot shows text rather than empty boxes
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || missing+=(fonts-wqy-zenhei)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then apt=(sudo apt-get)
  else apt=()
  fi
  if [ "${#apt[@]}" -eq 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: missing ${missing[*]}, and cannot install them here (needs apt-get as root or passwordless sudo)." >&2
    echo "test.sh: install them yourself: sudo apt-get install ${missing[*]}" >&2
  else
    echo "test.sh: installing ${missing[*]} ..." >&2
    if ! { "${apt[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing[@]}"; } >/dev/null; then
      echo "test.sh: apt-get could not install ${missing[*]}" >&2
    fi
  fi
  command -v oathtool >/dev/null 2>&1 || echo "test.sh: warning: no oathtool; the TOTP CLI tests fall back to their own RFC 6238 code" >&2
  { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || echo "test.sh: warning: no chromium/chromedriver; browser tests cannot run" >&2
fi

# --- a private Redis for the RiskEngine.Redis tests ------------------------------------------------------------
redis_dir=""
cleanup() {
  if [ -n "$redis_dir" ]; then
    [ -f "$redis_dir/redis.pid" ] && kill "$(cat "$redis_dir/redis.pid")" 2>/dev/null
    rm -rf "$redis_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
  local p
  for _ in $(seq 1 50); do  # no python3: a random high port that nothing answers on
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo 6390
}

if [ -z "${RISKENGINE_REDIS:-}" ]; then
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "test.sh: the Redis tests need redis-server and redis-cli (apt-get install redis-server), or RISKENGINE_REDIS=host:port" >&2
    exit 1
  fi
  redis_dir=$(mktemp -d)
  for _ in 1 2 3; do  # another process may take the port between the check and the bind: try another one
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" \
      --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" >/dev/null
    for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    [ -f "$redis_dir/redis.pid" ] && kill "$(cat "$redis_dir/redis.pid")" 2>/dev/null
    rm -f "$redis_dir/redis.pid"
    redis_port=""
  done
  if [ -z "$redis_port" ]; then
    echo "test.sh: redis-server did not start on a free 127.0.0.1 port; its log:" >&2
    cat "$redis_dir/redis.log" >&2 2>/dev/null
    exit 1
  fi
  export RISKENGINE_REDIS="127.0.0.1:$redis_port"
fi

dotnet test RiskEngine.sln "$@"
exit $?
