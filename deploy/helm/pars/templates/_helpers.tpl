{{/* A component's resource name: "<release>-<service>", e.g. pars-intake. Call with (list $ name). */}}
{{- define "pars.fullname" -}}
{{- printf "%s-%s" (index . 0).Release.Name (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pars.selectorLabels" -}}
app.kubernetes.io/name: pars
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "pars.labels" -}}
{{ include "pars.selectorLabels" . }}
app.kubernetes.io/version: {{ (index . 0).Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ (index . 0).Release.Service }}
helm.sh/chart: {{ printf "%s-%s" (index . 0).Chart.Name (index . 0).Chart.Version }}
{{- end -}}

{{/* The image, tagged with the chart's appVersion unless told otherwise; never "latest". */}}
{{- define "pars.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if or (eq $tag "latest") (eq $tag "") -}}
{{- fail "image.tag must name a release (empty means the chart's appVersion); \"latest\" cannot be rolled back to" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* A topic or consumer group as the services name it under PARS_NAMESPACE ("<ns>.<name>"). */}}
{{- define "pars.prefixed" -}}
{{- $ns := (index . 0).Values.config.parsNamespace | lower -}}
{{- if $ns }}{{ printf "%s.%s" $ns (index . 1) }}{{ else }}{{ index . 1 }}{{ end -}}
{{- end -}}

{{/* The topic registry (generated from pars_contracts.topics by deploy/helm/generate.py). */}}
{{- define "pars.registry" -}}
{{- .Files.Get "files/kafka-registry.yaml" -}}
{{- end -}}

{{/* Plain variables, refused when the name looks secret: those belong in a Secret. (list $ envMap) */}}
{{- define "pars.plainEnv" -}}
{{- range $key, $value := index . 1 }}
{{- if regexMatch "(?i)(TOKEN|PASSWORD|SECRET|DATABASE_URL|SASL|CREDENTIAL|API_KEY)" $key }}
{{- fail (printf "%s looks secret: put it in a Kubernetes Secret and reference it (the chart takes no secret values)" $key) }}
{{- end }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "pars.databaseUrl" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret: the Secret holding DATABASE_URL" .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- end -}}

{{/* A service's own database login (review N11), unless database.sharedLogin: its Secret. (list $ name) */}}
{{- define "pars.serviceDatabaseSecret" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $own := index ($root.Values.database.services | default dict) $name | default dict -}}
{{- $hint := printf "database.services.%s" $name -}}
{{- $why := "the Secret of its own role's DATABASE_URL (or database.sharedLogin: true)" -}}
name: {{ required (printf "%s.existingSecret: %s" $hint $why) $own.existingSecret }}
key: {{ required (printf "%s.urlKey: %s" $hint $why) $own.urlKey }}
{{- end -}}

{{/* A service's DATABASE_URL: its own role's, or with database.sharedLogin the shared one. (list $ name) */}}
{{- define "pars.serviceDatabaseUrl" -}}
{{- $root := index . 0 -}}
{{- if $root.Values.database.sharedLogin }}
{{ include "pars.databaseUrl" $root }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "pars.serviceDatabaseSecret" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Every variable of one service's container. (list $ name) */}}
{{- define "pars.env" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index $root.Values.services $name -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ $root.Values.kafka.bootstrapServers | quote }}
{{- include "pars.serviceDatabaseUrl" (list $root $name) }}
- name: PARS_NAMESPACE
  value: {{ $root.Values.config.parsNamespace | quote }}
- name: LOG_LEVEL
  value: {{ $root.Values.config.logLevel | quote }}
- name: HTTP_HOST
  value: "0.0.0.0"
- name: HTTP_PORT
  value: {{ $svc.port | quote }}
- name: OPS_PORT
  value: {{ required (printf "services.%s.opsPort: /metrics and /readyz leave the API port" $name) $svc.opsPort | quote }}
{{- if eq $name "intake" }}
- name: ADMIN_PORT
  value: {{ required "services.intake.adminPort: the admin API leaves the provider port" $svc.adminPort | quote }}
{{- range $other, $o := $root.Values.services }}
- name: {{ printf "%s_URL" ($other | upper | replace "-" "_") }}
  value: {{ printf "http://%s:%v" (include "pars.fullname" (list $root $other)) $o.port | quote }}
- name: {{ printf "%s_OPS_URL" ($other | upper | replace "-" "_") }}
  value: {{ printf "http://%s-ops:%v" (include "pars.fullname" (list $root $other)) $o.opsPort | quote }}
{{- end }}
{{- end }}
{{- if not $root.Values.kafka.sasl.enabled }}
- name: KAFKA_SECURITY_PROTOCOL  # refused by the services unless PARS_DEMO_MODE=1
  value: "PLAINTEXT"
{{- else }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $root.Values.kafka.sasl.securityProtocol | quote }}
{{- if include "pars.kafkaCa" $root }}
- name: KAFKA_SSL_CAFILE
  value: {{ include "pars.kafkaCa" $root | quote }}
{{- end }}
- name: KAFKA_SCRAM_MECHANISM
  value: {{ $root.Values.kafka.sasl.mechanism | quote }}
- name: KAFKA_USERNAME
  value: {{ include "pars.kafkaUser" (list $root $name) | quote }}
- name: KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "pars.kafkaUser" (list $root $name) }}
      key: {{ $root.Values.kafka.sasl.passwordKey }}
{{- if eq $name "intake" }}
# Upstream credentials only: the one KafkaUser with ALTER on the cluster (review N7).
- name: KAFKA_ACL_ADMIN_USERNAME
  value: {{ include "pars.kafkaUser" (list $root "credential-admin") | quote }}
- name: KAFKA_ACL_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "pars.kafkaUser" (list $root "credential-admin") }}
      key: {{ $root.Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end }}
- name: SERVICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "serviceToken.existingSecret: the Secret holding SERVICE_TOKEN" $root.Values.serviceToken.existingSecret }}
      key: {{ $root.Values.serviceToken.key }}
{{- if eq $name "intake" }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "adminToken.existingSecret: the Secret holding ADMIN_TOKEN" $root.Values.adminToken.existingSecret }}
      key: {{ $root.Values.adminToken.key }}
{{- end }}
{{- if eq $name "intake" }}
- name: PUBLIC_URL
  value: {{ $svc.publicUrl | quote }}
{{- end }}
{{- if eq $name "notifier" }}
{{- with $root.Values.smtp }}
- name: SMTP_HOST
  value: {{ .host | quote }}
- name: SMTP_PORT
  value: {{ .port | quote }}
- name: SMTP_TLS
  value: {{ .tls | quote }}
- name: MAIL_FROM
  value: {{ .from | quote }}
{{- if .username }}
- name: SMTP_USERNAME
  value: {{ .username | quote }}
{{- end }}
{{- if .passwordSecret.existingSecret }}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .passwordSecret.existingSecret }}
      key: {{ .passwordSecret.key }}
{{- end }}
{{- end }}
{{- end }}
{{- include "pars.plainEnv" (list $root $root.Values.config.env) }}
{{- include "pars.plainEnv" (list $root ($svc.env | default dict)) }}
{{- end -}}

{{/* Where the brokers' CA certificate is mounted, when the services use TLS and one is named; else empty. */}}
{{- define "pars.kafkaCa" -}}
{{- if and .Values.kafka.sasl.enabled (eq .Values.kafka.sasl.securityProtocol "SASL_SSL") .Values.kafka.tls.caSecret -}}
{{- printf "/etc/pars/kafka-ca/%s" .Values.kafka.tls.caKey -}}
{{- end -}}
{{- end -}}

{{/* The service's KafkaUser (examples/strimzi-users.yaml), whose Secret has the same name. */}}
{{- define "pars.kafkaUser" -}}
{{- printf "%s%s" (index . 0).Values.kafka.sasl.userPrefix (index . 1) -}}
{{- end -}}

{{/* Checks that would otherwise surface as a mid-drain SIGKILL. */}}
{{- define "pars.validate" -}}
{{- $s := .Values.shutdown -}}
{{- if le (int $s.terminationGracePeriodSeconds) (add $s.preStopSeconds $s.drainSeconds | int) -}}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%v) must exceed preStopSeconds + drainSeconds (%v): Kubernetes kills the pod when it ends" $s.terminationGracePeriodSeconds (add $s.preStopSeconds $s.drainSeconds)) -}}
{{- end -}}
{{- end -}}
