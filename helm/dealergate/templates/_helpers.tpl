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

{{/* Keys volume: the signing key (as signing.pem) and any retired public keys, from a Secret.
     include "dealergate.keysVolume" (dict "secretName" $name "verificationKeys" $list) */}}
{{- define "dealergate.keysVolume" -}}
- name: keys
  secret:
    secretName: {{ .secretName }}
    defaultMode: 288 # 0440: owner and the fsGroup (10001) may read
    items:
      - key: signing-key.pem
        path: signing.pem
      {{- range .verificationKeys }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
{{- end }}

{{/* The signing settings the server needs to serve (the prod profile refuses `serve` without a
     signing key, a refresh secret and an MFA encryption key). Only the Deployment includes it:
     `migrate up` and `admin create-user` load their configuration without them, so the hook
     Jobs never get them.
     include "dealergate.authEnv" (dict "secretName" $name "verificationKeys" $list) */}}
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
{{- with .verificationKeys }}
- name: DEALERGATE_AUTH__VERIFICATION_KEY_FILES
  value: {{ include "dealergate.tomlPathArray" . | quote }}
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
