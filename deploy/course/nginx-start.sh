#!/bin/sh
# Writes nginx's configuration for the course and runs nginx in the foreground.
#   GATESCOPE_PORT       the port nginx listens on (8080)
#   GATESCOPE_UPSTREAMS  the replicas, host:port separated by spaces
#
# A replica that refuses the connection or fails before answering is skipped: the request goes
# to the next one (proxy_next_upstream; a POST only when it never reached the dead replica,
# since an upload must not be stored twice). A replica that dies mid-answer, or no replica at
# all, is nginx's 502/504: answered 503 with Retry-After, a JSON body like Gatescope's own.
set -eu
port=${GATESCOPE_PORT:-8080}
servers=""
for s in ${GATESCOPE_UPSTREAMS:?"GATESCOPE_UPSTREAMS names the replicas"}; do
  servers="$servers    server $s max_fails=1 fail_timeout=3s;
"
done
cat >/etc/nginx/nginx.conf <<CONF
worker_processes auto;
pid /run/nginx.pid;
user www-data;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  upstream gatescope {
$servers    keepalive 32;
  }
  map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
  server {
    listen $port reuseport;
    client_max_body_size 64m;
    proxy_http_version 1.1;
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header Upgrade \$http_upgrade;
    proxy_set_header Connection \$connection_upgrade;
    proxy_connect_timeout 2s;
    proxy_send_timeout 60s;
    proxy_read_timeout 3600s;
    proxy_request_buffering on;
    proxy_next_upstream error timeout http_502;
    proxy_next_upstream_tries 3;
    proxy_next_upstream_timeout 10s;
    location / { proxy_pass http://gatescope; }
    error_page 502 504 = @unavailable;
    location @unavailable {
      default_type application/json;
      add_header Retry-After 1 always;
      return 503 '{"error": "unavailable", "message": "no replica could answer; retry in a second", "details": []}';
    }
  }
}
CONF
nginx -t -q
exec nginx -g 'daemon off;'
