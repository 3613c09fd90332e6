{{/* Names ---------------------------------------------------------------------------- */}}

{{- define "dealergate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dealergate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dealergate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels: include "dealergate.labels" (dict "ctx" $ "component" "server") ------------- */}}

{{- define "dealergate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dealergate.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "dealergate.labels" -}}
helm.sh/chart: {{ include "dealergate.chart" .ctx }}
{{ include "dealergate.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: dealergate
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/* Image, service account, secrets -------------------------------------------------- */}}

{{- define "dealergate.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}
{{- end }}

{{- define "dealergate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dealergate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The runtime Secret: yours (secrets.existingSecret) or the chart's. */}}
{{- define "dealergate.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "dealergate.fullname" . }}
{{- end }}
{{- end }}

{{/* The Secret the pre-install/pre-upgrade migration Job reads (key migration-database-url only):
     yours, or the chart's hook copy (the release's own Secret does not exist yet when
     pre-install hooks run). */}}
{{- define "dealergate.hookSecretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-hooks" (include "dealergate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
"true" when the server reads DEALERGATE_DATABASE__LISTEN_URL from the Secret key
listen-database-url: always with config.database.transactionPooling (the key is then required,
in your Secret too), and with a chart-managed Secret whenever secrets.listenUrl is given.
*/}}
{{- define "dealergate.listenUrlFromSecret" -}}
{{- if or .Values.config.database.transactionPooling (and (not .Values.secrets.existingSecret) .Values.secrets.listenUrl) }}true{{ end }}
{{- end }}

{{/* Fails rendering when the chart must create the Secret but a value is missing or unusable. */}}
{{- define "dealergate.validateSecretValues" -}}
{{- if not .Values.secrets.existingSecret }}
{{- $s := .Values.secrets }}
{{- $_ := required "secrets.databaseUrl is required when secrets.existingSecret is empty" $s.databaseUrl }}
{{- $_ := required "secrets.migrationDatabaseUrl is required when secrets.existingSecret is empty" $s.migrationDatabaseUrl }}
{{- $_ := required "secrets.signingKey is required when secrets.existingSecret is empty (dealergate keys generate)" $s.signingKey }}
{{- $_ := required "secrets.refreshTokenSecret is required when secrets.existingSecret is empty" $s.refreshTokenSecret }}
{{- $_ := required "secrets.mfaEncryptionKey is required when secrets.existingSecret is empty (openssl rand -base64 32)" $s.mfaEncryptionKey }}
{{- $_ := required "secrets.smtpUrl is required when secrets.existingSecret is empty (prod sends mail over SMTP)" $s.smtpUrl }}
{{- if and $.Values.config.database.transactionPooling (not $s.listenUrl) }}
{{- fail "secrets.listenUrl is required with config.database.transactionPooling: a direct URL for LISTEN/NOTIFY (a transaction pooler cannot hold a LISTEN)" }}
{{- end }}
{{- if lt (len $s.refreshTokenSecret) 32 }}
{{- fail "secrets.refreshTokenSecret must be at least 32 bytes" }}
{{- end }}
{{- if not (contains "PRIVATE KEY-----" $s.signingKey) }}
{{- fail "secrets.signingKey must be a PKCS#8 PEM private key (dealergate keys generate)" }}
{{- end }}
{{- range .Values.auth.verificationKeys }}
{{- if not (hasKey $s.verificationKeys .) }}
{{- fail (printf "auth.verificationKeys names %q but secrets.verificationKeys has no such key" .) }}
{{- end }}
{{- end }}
{{- if .Values.config.oidc.enabled }}
{{- $_ := required "secrets.idEs256Key is required with config.oidc.enabled when secrets.existingSecret is empty (dealergate keys generate --alg ES256)" $s.idEs256Key }}
{{- if .Values.oidc.rs256Key }}
{{- $_ := required "secrets.idRs256Key is required with oidc.rs256Key when secrets.existingSecret is empty (dealergate keys generate --alg RS256)" $s.idRs256Key }}
{{- end }}
{{- if .Values.oidc.eddsaKey }}
{{- $_ := required "secrets.idEddsaKey is required with oidc.eddsaKey when secrets.existingSecret is empty (dealergate keys generate --alg EdDSA --id-token)" $s.idEddsaKey }}
{{- end }}
{{- range $name, $pem := dict "idEs256Key" $s.idEs256Key "idRs256Key" $s.idRs256Key "idEddsaKey" $s.idEddsaKey }}
{{- if and $pem (not (contains "BEGIN PRIVATE KEY-----" $pem)) }}
{{- fail (printf "secrets.%s must be a PKCS#8 PEM private key (dealergate keys generate --alg ...)" $name) }}
{{- end }}
{{- end }}
{{- range .Values.oidc.verificationKeys }}
{{- if not (hasKey $s.verificationKeys .) }}
{{- fail (printf "oidc.verificationKeys names %q but secrets.verificationKeys has no such key" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Security contexts (not configurable: the image runs as 10001 with a read-only root). --- */}}

{{- define "dealergate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "dealergate.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Keys volume, from a Secret: the signing key (as signing.pem), the ID-token keys the server
     uses (id-es256.pem, id-rs256.pem, id-eddsa.pem) and any retired public keys.
     include "dealergate.keysVolume" (dict "secretName" $name "ctx" $) */}}
{{- define "dealergate.keysVolume" -}}
{{- $v := .ctx.Values }}
- name: keys
  secret:
    secretName: {{ .secretName }}
    defaultMode: 288 # 0440: owner and the fsGroup (10001) may read
    items:
      - key: signing-key.pem
        path: signing.pem
      {{- range $v.auth.verificationKeys }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
      {{- range (include "dealergate.idKeyFiles" .ctx | fromYaml).files }}
      - key: {{ .key }}
        path: {{ .path }}
      {{- end }}
      {{- if $v.config.oidc.enabled }}
      {{- range $v.oidc.verificationKeys }}
      {{- if has . $v.auth.verificationKeys }}
      {{- fail (printf "%q is in both auth.verificationKeys and oidc.verificationKeys: the access tokens' and the ID tokens' keys are apart" .) }}
      {{- end }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
      {{- end }}
{{- end }}

{{/* The ID-token private keys the server reads, as YAML {files: [{key, path, env}]}: none with
     config.oidc.enabled off; else ES256, and RS256/EdDSA when oidc.rs256Key/eddsaKey say. */}}
{{- define "dealergate.idKeyFiles" -}}
files:
{{- if .Values.config.oidc.enabled }}
  - {key: id-es256-key.pem, path: id-es256.pem, env: DEALERGATE_OIDC__ES256_KEY_FILE}
  {{- if .Values.oidc.rs256Key }}
  - {key: id-rs256-key.pem, path: id-rs256.pem, env: DEALERGATE_OIDC__RS256_KEY_FILE}
  {{- end }}
  {{- if .Values.oidc.eddsaKey }}
  - {key: id-eddsa-key.pem, path: id-eddsa.pem, env: DEALERGATE_OIDC__EDDSA_KEY_FILE}
  {{- end }}
{{- end }}
{{- end }}

{{/* The signing settings the server needs to serve (the prod profile refuses `serve` without a
     signing key, a refresh secret, an MFA encryption key and, with config.oidc.enabled, the
     ES256 ID-token key). Only the Deployment includes it: `migrate up` and `admin create-user`
     load their configuration without them, so the hook Jobs never get them.
     include "dealergate.authEnv" (dict "secretName" $name "ctx" $) */}}
{{- define "dealergate.authEnv" -}}
- name: DEALERGATE_AUTH__SIGNING_KEY_FILE
  value: /etc/dealergate/keys/signing.pem
- name: DEALERGATE_AUTH__REFRESH_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: refresh-token-secret
- name: DEALERGATE_AUTH__MFA__ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: mfa-encryption-key
{{- with .ctx.Values.auth.verificationKeys }}
- name: DEALERGATE_AUTH__VERIFICATION_KEY_FILES
  value: {{ include "dealergate.tomlPathArray" . | quote }}
{{- end }}
{{- range (include "dealergate.idKeyFiles" .ctx | fromYaml).files }}
- name: {{ .env }}
  value: /etc/dealergate/keys/{{ .path }}
{{- end }}
{{- if .ctx.Values.config.oidc.enabled }}
{{- with .ctx.Values.oidc.verificationKeys }}
- name: DEALERGATE_OIDC__VERIFICATION_KEY_FILES
  value: {{ include "dealergate.tomlPathArray" . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* ["/etc/dealergate/keys/a.pem", "/etc/dealergate/keys/b.pem"] */}}
{{- define "dealergate.tomlPathArray" -}}
{{- $paths := list }}
{{- range . }}
{{- $paths = append $paths (printf "%q" (printf "/etc/dealergate/keys/%s" .)) }}
{{- end }}
{{- printf "[%s]" (join ", " $paths) }}
{{- end }}

{{/* The smallest replica count the workload runs with. */}}
{{- define "dealergate.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.minReplicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* http.trust_forwarded_for: config.http.trustForwardedFor, or (null) whether the ingress is on:
     behind it every client would otherwise share the controller's address. */}}
{{- define "dealergate.trustForwardedFor" -}}
{{- $v := .Values.config.http.trustForwardedFor -}}
{{- if kindIs "invalid" $v -}}
{{- .Values.ingress.enabled -}}
{{- else -}}
{{- $v -}}
{{- end -}}
{{- end }}

{{/* http.hsts_max_age_secs, or nothing when HSTS is not to be sent: config.http.hstsMaxAgeSecs
     as given (false: never), or (null) a year when the ingress terminates TLS. */}}
{{- define "dealergate.hstsMaxAgeSecs" -}}
{{- $v := .Values.config.http.hstsMaxAgeSecs -}}
{{- if kindIs "invalid" $v -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls -}}31536000{{- end -}}
{{- else if not (kindIs "bool" $v) -}}
{{- int64 $v -}}
{{- end -}}
{{- end }}
