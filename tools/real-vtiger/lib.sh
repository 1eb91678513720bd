# Functions of tools/real-vtiger/real-vtiger (sourced; set -euo pipefail is the caller's).
#
# Layout of one profile under $REAL_VTIGER_HOME/<profile>/:
#   www/            the vtiger root the web server serves (a copy of the source, then installed)
#   db/             the profile's own MariaDB data directory (its own server, port and socket)
#   run/            pid files, socket, PHP sessions, logs
#   fresh/          the snapshot of the fresh install: www/, db/ (taken with the server stopped),
#                   db.sql.gz (a portable mysqldump of the same) and install.log
# vtiger's source is only ever read from the path given to `install`; nothing of it is in this repository.

STATE_HOME="${REAL_VTIGER_HOME:-/var/lib/real-vtiger}"
ADMIN_USER=admin
ADMIN_PASSWORD='Vtiger-Admin-2026'
ADMIN_EMAIL='admin@example.com'
DB_USER=vtiger
DB_PASSWORD=vtiger

die() { echo "real-vtiger: $1" >&2; exit "${2:-1}"; }
say() { echo "real-vtiger: $*" >&2; }

profile_names() { (cd "$HERE/profiles" && ls -- *.env | sed 's/\.env$//' | paste -sd' '); }

load_profile() {
    PROFILE="$1"
    local file="$HERE/profiles/$PROFILE.env"
    [ -f "$file" ] || die "unknown profile '$PROFILE' (known: $(profile_names))" 2
    # shellcheck disable=SC1090
    . "$file"
    # A second instance of the same profile (e.g. one per engineer): its own home and ports.
    WEB_PORT="${REAL_VTIGER_WEB_PORT:-$WEB_PORT}"
    DB_PORT="${REAL_VTIGER_DB_PORT:-$DB_PORT}"
    PDIR="$STATE_HOME/$PROFILE"
    WWW="$PDIR/www"
    DATADIR="$PDIR/db"
    RUN="$PDIR/run"
    FRESH="$PDIR/fresh"
    SOCKET="$RUN/mysqld.sock"
    URL="http://127.0.0.1:$WEB_PORT"
}

require_tools() {
    command -v "$PHP_BIN" >/dev/null || die "$PHP_BIN not found: run 'real-vtiger system-packages' first (as root)"
    command -v mariadbd >/dev/null || die "mariadbd not found: run 'real-vtiger system-packages' first (as root)"
    command -v rsync >/dev/null || die "rsync not found: run 'real-vtiger system-packages' first (as root)"
    command -v python3 >/dev/null || die "python3 not found"
    python3 -c 'import requests' 2>/dev/null \
        || die "python3 cannot import requests: activate the project's virtualenv (pip install -e '.[dev]')"
}

# --- system packages ---------------------------------------------------------------------------------------

system_packages() {
    [ "$(id -u)" = 0 ] || die "system-packages must run as root (it uses apt-get)"
    local sources=/etc/apt/sources.list.d/bullseye-php74.sources pins=/etc/apt/preferences.d/bullseye-php74
    if [ ! -f "$sources" ]; then
        cat >"$sources" <<'EOF'
# Added by tools/real-vtiger (vtiger social bridge) for PHP 7.4 only; see /etc/apt/preferences.d/bullseye-php74.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    cat >"$pins" <<'EOF'
# Debian bullseye is added only for PHP 7.4 (SalesPlatform 7.2 and vtiger 7.3 break on PHP 8).
# Everything else keeps coming from bookworm: bullseye is below bookworm's default 500, so it supplies only
# what bookworm lacks (php7.4-*, libssl1.1, libicu67, libffi7).
Package: *
Pin: release n=bullseye
Pin-Priority: 100

# bookworm's php-common (2:93) declares Breaks: php7.4-common; bullseye's (2:76) does not, and still
# satisfies bookworm's php8.2-* (php-common >= 1:81), so PHP 7.4 and bookworm's PHP 8.2 live side by side.
Package: php-common
Pin: release n=bullseye
Pin-Priority: 1001
EOF
    apt-get update -qq
    local ext=(cli mysql curl gd imap mbstring xml zip intl soap opcache bcmath)
    local pkgs=(php-common mariadb-server mariadb-client rsync)
    local e
    for e in "${ext[@]}"; do pkgs+=("php7.4-$e"); done
    # vtiger 8 runs on bookworm's PHP 8.2 with the same extensions.
    for e in "${ext[@]}"; do pkgs+=("php8.2-$e"); done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades --no-install-recommends "${pkgs[@]}"
    # Installing php7.4 must not take /usr/bin/php away from bookworm's PHP 8.2 (the plugin tests use it).
    if [ -x /usr/bin/php8.2 ]; then update-alternatives --quiet --auto php; fi
    say "php: $(php -r 'echo PHP_VERSION;'), php7.4: $(php7.4 -r 'echo PHP_VERSION;'), $(mariadbd --version | cut -d' ' -f1-4)"
}

# --- processes -----------------------------------------------------------------------------------------------

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Ends the process group started by start_* (setsid makes the recorded pid its group leader).
stop_group() {
    local pidfile="$1" what="$2" pid i
    pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid="$(cat "$pidfile")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$what did not stop in 30 s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mysql_root() { mariadb --no-defaults -uroot -S "$SOCKET" "$@"; }

write_my_cnf() {
    mkdir -p "$RUN"
    # Its own server per profile: `reset` swaps the whole data directory, which takes seconds where
    # re-importing a dump takes a minute. sql_mode='' is what vtiger's installer demands (it refuses
    # STRICT_TRANS_TABLES, NO_ZERO_DATE, ...); the rest are MariaDB's defaults, so latencies stay real.
    cat >"$RUN/my.cnf" <<EOF
[mariadbd]
datadir = $DATADIR
socket = $SOCKET
pid-file = $RUN/mysqld.pid
port = $DB_PORT
bind-address = 127.0.0.1
user = mysql
sql_mode = ''
log-error = $RUN/mysqld.err
skip-name-resolve
innodb_log_file_size = 48M
EOF
}

db_start() {
    write_my_cnf
    if pid_alive "$RUN/mysqld.group"; then return 0; fi
    [ -d "$DATADIR/mysql" ] || die "no database at $DATADIR: run 'real-vtiger install $PROFILE SOURCE' first"
    port_busy "$DB_PORT" && die "port $DB_PORT (MariaDB of $PROFILE) is taken by another program"
    chown -R mysql:mysql "$DATADIR" "$RUN"
    setsid mariadbd --defaults-file="$RUN/my.cnf" >>"$RUN/mysqld.out" 2>&1 </dev/null &
    echo $! >"$RUN/mysqld.group"
    local i
    for i in $(seq 1 300); do
        if mysql_root -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
        pid_alive "$RUN/mysqld.group" || break
        sleep 0.1
    done
    die "MariaDB of $PROFILE did not start; see $RUN/mysqld.err"
}

db_stop() { stop_group "$RUN/mysqld.group" "MariaDB of $PROFILE"; }

db_init() {
    rm -rf "$DATADIR"
    mkdir -p "$DATADIR" "$RUN"
    write_my_cnf
    chown -R mysql:mysql "$DATADIR" "$RUN"
    mariadb-install-db --defaults-file="$RUN/my.cnf" --auth-root-authentication-method=socket \
        --skip-test-db >"$RUN/install-db.log" 2>&1 || die "mariadb-install-db failed; see $RUN/install-db.log"
    db_start
    # utf8 (3-byte) with utf8_general_ci: what vtiger's installer itself creates.
    mysql_root <<EOF
CREATE DATABASE $DB_NAME DEFAULT CHARACTER SET utf8 DEFAULT COLLATE utf8_general_ci;
CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
EOF
}

web_start() {
    mkdir -p "$RUN/sessions"
    if pid_alive "$RUN/web.group"; then return 0; fi
    [ -f "$WWW/vtigerversion.php" ] || die "no vtiger at $WWW: run 'real-vtiger install $PROFILE SOURCE' first"
    port_busy "$WEB_PORT" && die "port $WEB_PORT (web server of $PROFILE) is taken by another program"
    # Several workers: the plugin calls the bridge from inside a request and the bridge calls back into
    # vtiger, which a single-worker server would serialise or deadlock.
    (
        cd "$WWW"
        PHP_CLI_SERVER_WORKERS="${REAL_VTIGER_WORKERS:-6}" setsid "$PHP_BIN" -c "$HERE/php.ini" \
            -d "session.save_path=$RUN/sessions" -d "error_log=$RUN/php-errors.log" \
            -S "127.0.0.1:$WEB_PORT" >>"$RUN/web.log" 2>&1 </dev/null &
        echo $! >"$RUN/web.group"
    )
    local i
    for i in $(seq 1 150); do
        if port_busy "$WEB_PORT"; then return 0; fi
        pid_alive "$RUN/web.group" || break
        sleep 0.1
    done
    die "the web server of $PROFILE did not start; see $RUN/web.log"
}

web_stop() { stop_group "$RUN/web.group" "web server of $PROFILE"; }

# --- commands ------------------------------------------------------------------------------------------------

check_source() {
    local src="$1" version
    [ -d "$src" ] || die "source path $src is not a directory"
    [ -f "$src/vtigerversion.php" ] || die "source path $src has no vtigerversion.php (not a vtiger source tree)"
    [ -f "$src/modules/Install/views/Index.php" ] || die "source path $src has no web installer (modules/Install)"
    version="$(sed -n "s/^\$vtiger_current_version *= *'\([^']*\)'.*/\1/p" "$src/vtigerversion.php")"
    [[ "$version" =~ $VERSION_RE ]] \
        || die "source path $src is vtiger '$version', profile $PROFILE wants /$VERSION_RE/"
    [ ! -s "$src/config.inc.php" ] || die "source path $src is already installed (config.inc.php is not empty)"
    echo "$version"
}

cmd_install() {
    require_tools
    local src version started elapsed
    src="$(cd "$1" 2>/dev/null && pwd)" || die "source path $1 does not exist"
    version="$(check_source "$src")"
    started=$(date +%s)
    say "installing $PROFILE_TITLE $version from $src into $PDIR"
    web_stop
    db_stop
    rm -rf "$FRESH" "$RUN/sessions"
    mkdir -p "$PDIR" "$RUN"
    rsync -a --delete --exclude=.git "$src/" "$WWW/"
    db_init
    web_start
    say "web installer and first-login wizard at $URL (takes minutes: vtiger creates ~500 tables)"
    python3 "$HERE/install_web.py" --profile "$INSTALLER" --url "$URL" --db-host "127.0.0.1:$DB_PORT" \
        --db-name "$DB_NAME" --db-user "$DB_USER" --db-password "$DB_PASSWORD" --admin-user "$ADMIN_USER" \
        --admin-password "$ADMIN_PASSWORD" --admin-email "$ADMIN_EMAIL" --language "$LANGUAGE" \
        --currency "$CURRENCY" --timezone "$TIMEZONE" --date-format "$DATE_FORMAT" --log-dir "$RUN" \
        | tee "$RUN/install.log" >&2 || die "the web installer failed; see $RUN/install.log and $RUN/php-errors.log"
    cmd_snapshot
    elapsed=$(( $(date +%s) - started ))
    echo "installed in ${elapsed} s" >>"$RUN/install.log"
    cp "$RUN/install.log" "$FRESH/install.log"
    say "installed and snapshotted in ${elapsed} s; $URL (admin: $ADMIN_USER / $ADMIN_PASSWORD)"
}

cmd_snapshot() {
    require_tools
    [ -d "$DATADIR/mysql" ] || die "nothing to snapshot: run 'real-vtiger install $PROFILE SOURCE' first"
    db_start
    mkdir -p "$FRESH"
    mysqldump --no-defaults -uroot -S "$SOCKET" --single-transaction --routines "$DB_NAME" \
        | gzip -1 >"$FRESH/db.sql.gz.tmp"
    mv "$FRESH/db.sql.gz.tmp" "$FRESH/db.sql.gz"
    web_stop
    db_stop
    rsync -a --delete "$DATADIR/" "$FRESH/db/"
    rsync -a --delete "$WWW/" "$FRESH/www/"
    db_start
    web_start
    say "fresh snapshot of $PROFILE taken in $FRESH"
}

cmd_reset() {
    require_tools
    [ -d "$FRESH/db/mysql" ] && [ -d "$FRESH/www" ] \
        || die "no fresh snapshot of $PROFILE: run 'real-vtiger install $PROFILE SOURCE' first"
    local t0
    t0=$(date +%s%N)
    web_stop
    db_stop
    rsync -a --delete "$FRESH/db/" "$DATADIR/"
    rsync -a --delete "$FRESH/www/" "$WWW/"
    rm -rf "$RUN/sessions"
    db_start
    web_start
    say "$PROFILE reset to the fresh install in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

cmd_start() { require_tools; db_start; web_start; say "$PROFILE running: $URL"; }

cmd_stop() { web_stop; db_stop; say "$PROFILE stopped"; }

cmd_status() {
    local db=stopped web=stopped code
    pid_alive "$RUN/mysqld.group" && db="running (pid $(cat "$RUN/mysqld.group"), 127.0.0.1:$DB_PORT)"
    if pid_alive "$RUN/web.group"; then
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/webservice.php?operation=getchallenge&username=$ADMIN_USER" || true)"
        web="running (pid $(cat "$RUN/web.group"), $URL, webservice HTTP $code)"
    fi
    echo "profile:  $PROFILE ($PROFILE_TITLE)"
    echo "database: $db"
    echo "web:      $web"
    echo "root:     $WWW"
    echo "snapshot: $([ -d "$FRESH/db/mysql" ] && echo "$FRESH" || echo none)"
    [[ "$db" == running* && "$web" == *"HTTP 200)" ]]
}

cmd_env() {
    # The reset line names this instance's home and ports: run from an environment without them (pytest's),
    # it must reset this instance and no other.
    pid_alive "$RUN/mysqld.group" || die "$PROFILE is not running: real-vtiger start $PROFILE"
    local key server_tz
    key="$(mysql_root -N -B -e "SELECT accesskey FROM $DB_NAME.vtiger_users WHERE user_name='$ADMIN_USER'")"
    [ -n "$key" ] || die "no access key for $ADMIN_USER in $DB_NAME: is $PROFILE installed?"
    # The bridge's vtiger.timezone is the CRM server's zone ($default_timezone of config.inc.php, the zone of
    # the database's times), not the admin's: SalesPlatform ships Europe/Moscow there, vtiger 7/8 ship UTC
    # whatever zone the installer was given (that one becomes the admin's own preference).
    server_tz="$(cd "$WWW" && "$PHP_BIN" -c "$HERE/php.ini" -d display_errors=0 \
        -r 'include "config.inc.php"; echo date_default_timezone_get();')" \
        || die "cannot read the time zone of $WWW/config.inc.php with $PHP_BIN"
    cat <<EOF
# $PROFILE_TITLE ($PROFILE), from tools/real-vtiger/real-vtiger env $PROFILE
export VSB_REAL_VTIGER_PROFILE=$PROFILE
export VSB_REAL_VTIGER_URL=$URL
export VSB_REAL_VTIGER_USER=$ADMIN_USER
export VSB_REAL_VTIGER_PASSWORD='$ADMIN_PASSWORD'
export VSB_REAL_VTIGER_ACCESS_KEY=$key
export VSB_REAL_VTIGER_ROOT=$WWW
export VSB_REAL_VTIGER_PHP=$PHP_BIN
export VSB_REAL_VTIGER_TIMEZONE=$server_tz
export VSB_REAL_VTIGER_RESET='env REAL_VTIGER_HOME=$STATE_HOME REAL_VTIGER_WEB_PORT=$WEB_PORT REAL_VTIGER_DB_PORT=$DB_PORT $HERE/real-vtiger reset $PROFILE'
EOF
}
