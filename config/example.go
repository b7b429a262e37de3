package config

// Example returns a commented example switchboard.yaml. It loads and
// validates as is (a test checks that); `switchboard` may print it for a
// new installation.
func Example() string { return exampleYAML }

const exampleYAML = `# switchboard.yaml — configuration of the Switchboard hub.
# Every key can be overridden by an environment variable: the key path in
# upper case joined by "_" behind SWITCHBOARD_, e.g. SWITCHBOARD_HTTP_ADDR,
# SWITCHBOARD_STORE_REDIS_ADDRS=a:6379,b:6379, SWITCHBOARD_CHANNELS_0_PHASE=live.
# Unknown keys (here or in SWITCHBOARD_* variables) are errors.
# Secrets may be given as *_file paths (token_file, password_file).
# Reference: docs/CONFIG.md.

http:
  addr: 127.0.0.1:8080                # one listener: API, webhooks, UI, /healthz, /metrics
  # public_url: https://hub.example.com  # how providers reach the hub (webhook signatures)
  max_body_bytes: 1048576             # larger request bodies get 413

store:
  embedded:
    path: ./switchboard-data          # the default when no redis is given
  # Use redis instead of embedded when several replicas share the load:
  # redis:
  #   addrs: [127.0.0.1:6379]         # one address, several for Cluster, or the sentinels
  #   cluster: false
  #   master_name: ""                 # set for Sentinel
  #   password_file: /run/secrets/redis-password
  #   prefix: sb

identity:
  default_region: FI                  # for phone numbers written without a country code

router:
  workers: 8
  max_attempts: 5                     # then the message goes to the dead-letter queue
  claim_after: 30s                    # a stuck message is taken over after this long
  max_open_per_agent: 20

teams:
  - name: support
  - name: pilots

agents:
  - name: alice
    role: admin                       # admin | agent
    # token_file: /run/secrets/alice-api-token
    token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    teams: [support, pilots]
  - name: bob
    role: agent
    token_sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
    teams: [support]

channels:
  - name: partners-api
    type: api                         # api | email | sms | slack | webform | plugin
    phase: live                       # off | shadow | pilot | live (default: live for api, off otherwise)
    trusted: false                    # api only: identities sent are verified, not claimed
  - name: support-mail
    type: email
    phase: shadow                     # ingest and resolve, but nothing reaches an inbox
    team: support
    email:                            # see docs/CONFIG.md, section "email"
      imap: {addr: "imap.example.com:993", username: support, password_file: /run/secrets/imap}
      smtp: {addr: "smtp.example.com:587", from: "support@example.com"}
  - name: sms
    type: sms
    phase: pilot
    pilot_team: pilots                # only this team sees the channel in pilot

routing:
  - channel: "*"                      # every channel without its own rule
    team: support

plugins: []
  # - name: telegram
  #   path: /usr/local/lib/switchboard/telegram
  #   sha256: <hex of the binary>
  #   settings: {bot_token_file: /run/secrets/telegram}

log:
  level: info                         # debug | info | warn | error
  format: json                        # json | text
`
