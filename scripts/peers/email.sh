# shellcheck shell=bash
# Peer of the email channel: a throwaway Dovecot 2.3 (IMAP with IDLE, and
# LMTP for delivering test mail), configured as PEERS.md describes, on free
# ports bound to 127.0.0.1. Sourced by scripts/test.sh, which provides
# $ROOT, $RUN, PIDS, free_port and log.
#
# One deviation from PEERS.md's config: the passdb is static (any user name
# with the password "secret"), so every test logs in as a user of its own
# (t-RANDOM@example.com) and gets a mailbox no other test touches.
# agent@example.com / secret works as in PEERS.md.
#
# Exports SWITCHBOARD_TEST_IMAP (plain, offers STARTTLS),
# SWITCHBOARD_TEST_IMAPS (implicit TLS), SWITCHBOARD_TEST_LMTP (host:port),
# SWITCHBOARD_TEST_EMAIL_CA (the PEM of the CA that signed the server's
# certificate, made at setup with openssl) and SWITCHBOARD_TEST_DOVECOT_CONF
# (the config file, for doveadm -c).

email_apt=()
command -v dovecot >/dev/null || email_apt+=(dovecot-imapd)
[ -x /usr/lib/dovecot/lmtp ] || email_apt+=(dovecot-lmtpd)
command -v openssl >/dev/null || email_apt+=(openssl)
if ((${#email_apt[@]})); then
  log "installing ${email_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${email_apt[@]}" >/dev/null
  # The package starts a system-wide Dovecot on 143/993; ours needs none of it.
  if command -v systemctl >/dev/null && systemctl is-active --quiet dovecot 2>/dev/null; then
    systemctl stop dovecot >/dev/null 2>&1 || true
  fi
fi

EMAIL_DIR=$RUN/dovecot
mkdir -p "$EMAIL_DIR/run" "$EMAIL_DIR/state" "$EMAIL_DIR/mail"
# Dovecot's unprivileged processes (nobody, dovenull) must reach the dirs.
chmod 755 "$RUN" "$EMAIL_DIR"
chown nobody:nogroup "$EMAIL_DIR/mail"
# The first port depends on this shell's PID, so two runs at once (CI and a
# chaos run that restarts its Dovecot every cycle, leaving its ports free
# for a moment) do not both pick 11143.
EMAIL_IMAP_PORT=$(free_port $((11143 + ($$ % 400) * 4)))
EMAIL_LMTP_PORT=$(free_port $((EMAIL_IMAP_PORT + 1)))
EMAIL_IMAPS_PORT=$(free_port $((EMAIL_LMTP_PORT + 1)))
# A throwaway CA and a server certificate for 127.0.0.1/localhost, made
# fresh at every run: the IMAP port offers STARTTLS, the IMAPS port is
# implicit TLS, and tests trust the CA through tls_ca_file.
EMAIL_TLS=$EMAIL_DIR/tls
mkdir -p "$EMAIL_TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Switchboard test CA" \
  -keyout "$EMAIL_TLS/ca.key" -out "$EMAIL_TLS/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$EMAIL_TLS/server.key" -out "$EMAIL_TLS/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$EMAIL_TLS/ext.cnf"
openssl x509 -req -in "$EMAIL_TLS/server.csr" -CA "$EMAIL_TLS/ca.pem" -CAkey "$EMAIL_TLS/ca.key" -CAcreateserial \
  -days 2 -extfile "$EMAIL_TLS/ext.cnf" -out "$EMAIL_TLS/server.pem" >/dev/null 2>&1
chmod 644 "$EMAIL_TLS/ca.pem" "$EMAIL_TLS/server.pem"
cat >"$EMAIL_DIR/dovecot.conf" <<CONF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $EMAIL_DIR/run
state_dir = $EMAIL_DIR/state
instance_name = switchboard-test-$$
log_path = $EMAIL_DIR/dovecot.log
ssl = yes
ssl_cert = <$EMAIL_TLS/server.pem
ssl_key = <$EMAIL_TLS/server.key
# Plaintext logins stay allowed on the plain port (most tests use tls: none
# with allow_insecure); the client refusing them is the connector's job.
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:$EMAIL_DIR/mail/%u/Maildir
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$EMAIL_DIR/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $EMAIL_IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $EMAIL_IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $EMAIL_LMTP_PORT
  }
}
CONF
# The master keeps the caller's stdio open: always redirect it.
dovecot -c "$EMAIL_DIR/dovecot.conf" </dev/null >/dev/null 2>&1 || {
  log "dovecot did not start:"; tail -20 "$EMAIL_DIR/dovecot.log" 2>/dev/null || true
}
# A loaded machine can take several seconds; wait up to 30 s, and record
# the master's PID whenever it exists so it is always stopped.
for _ in $(seq 1 600); do
  (echo >/dev/tcp/127.0.0.1/$EMAIL_IMAP_PORT) 2>/dev/null && [ -s "$EMAIL_DIR/run/master.pid" ] && break
  sleep 0.05
done
if (echo >/dev/tcp/127.0.0.1/$EMAIL_IMAP_PORT) 2>/dev/null && [ -s "$EMAIL_DIR/run/master.pid" ]; then
  PIDS+=("$(cat "$EMAIL_DIR/run/master.pid")")
  export SWITCHBOARD_TEST_IMAP=127.0.0.1:$EMAIL_IMAP_PORT
  export SWITCHBOARD_TEST_LMTP=127.0.0.1:$EMAIL_LMTP_PORT
  export SWITCHBOARD_TEST_DOVECOT_CONF=$EMAIL_DIR/dovecot.conf
  export SWITCHBOARD_TEST_IMAPS=127.0.0.1:$EMAIL_IMAPS_PORT
  export SWITCHBOARD_TEST_EMAIL_CA=$EMAIL_TLS/ca.pem
  log "dovecot $(dovecot --version | cut -d' ' -f1) imap (STARTTLS) on 127.0.0.1:$EMAIL_IMAP_PORT, imaps on 127.0.0.1:$EMAIL_IMAPS_PORT, lmtp on 127.0.0.1:$EMAIL_LMTP_PORT"
else
  [ -s "$EMAIL_DIR/run/master.pid" ] && PIDS+=("$(cat "$EMAIL_DIR/run/master.pid")")
  log "dovecot did not open 127.0.0.1:$EMAIL_IMAP_PORT; see $EMAIL_DIR/dovecot.log"
  tail -20 "$EMAIL_DIR/dovecot.log" 2>/dev/null || true
fi
