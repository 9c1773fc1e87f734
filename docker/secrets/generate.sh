#!/usr/bin/env bash
# Creates the secrets docker-compose.yml reads, with random values from openssl.
#   docker/secrets/generate.sh            writes next to this script
#   docker/secrets/generate.sh <folder>   writes into <folder>
# An existing file is kept: the database passwords are fixed when the PostgreSQL volume is first
# initialised, and a new MFA key would make every enrolled second factor unreadable.
# The files are readable by every user (mode 644) because the containers run as their own
# unprivileged users and compose mounts each file as it is; keep the folder itself private.
set -euo pipefail

out="${1:-$(cd "$(dirname "$0")" && pwd)}"
mkdir -p "$out"
chmod 700 "$out"

hex() { openssl rand -hex "$1"; }
key32() { openssl rand -base64 32; }

write() {
	local name="$1" value="$2"
	if [ -s "$out/$name" ]; then
		echo "kept      $name"
		return
	fi
	printf '%s\n' "$value" >"$out/$name"
	chmod 644 "$out/$name"
	echo "generated $name"
}

value_of() { tr -d '\n' <"$out/$1"; }

write postgres_password "$(hex 24)"
write db_owner_password "$(hex 24)"
write db_app_password "$(hex 24)"
# Hex passwords need no escaping inside a URL.
write database_owner_url "postgres://jiss_owner:$(value_of db_owner_password)@postgres:5432/intranet"
write database_url "postgres://jiss_app:$(value_of db_app_password)@postgres:5432/intranet"
write s3_access_key_id "$(hex 10)"
write s3_secret_access_key "$(hex 20)"
write seaweedfs_s3.json "$(
	cat <<JSON
{
	"identities": [
		{
			"name": "intranet",
			"credentials": [
				{
					"accessKey": "$(value_of s3_access_key_id)",
					"secretKey": "$(value_of s3_secret_access_key)"
				}
			],
			"actions": ["Read", "Write", "List", "Tagging"]
		}
	]
}
JSON
)"
# Mailpit in the compose file; replace with your relay, e.g. smtps://user:password@relay:465
write smtp_url "smtp://mailpit:1025"
write mfa_encryption_keys "k1:$(key32)"
write audit_signing_key "a1:$(key32)"
