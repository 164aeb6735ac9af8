{{/* The chart's name, for app.kubernetes.io/name. */}}
{{- define "socmond.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: the release name when it already contains the chart's
name (`helm install socmond` makes objects named socmond, as
deploy/kubernetes does), else release-chart. 63 characters at most (DNS
labels).
*/}}
{{- define "socmond.fullname" -}}
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

{{/* fullname with a suffix, still 63 characters at most. */}}
{{- define "socmond.suffixed" -}}
{{- printf "%s-%s" (include "socmond.fullname" .root | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix }}
{{- end }}

{{- define "socmond.selectorLabels" -}}
app.kubernetes.io/name: {{ include "socmond.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "socmond.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "socmond.selectorLabels" . }}
app.kubernetes.io/version: {{ include "socmond.tag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "socmond.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "socmond.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "socmond.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "socmond.image" -}}
{{- with .Values.image.registry }}{{ . }}/{{ end }}
{{- .Values.image.repository }}:{{ include "socmond.tag" . }}
{{- with .Values.image.digest }}@{{ . }}{{ end }}
{{- end }}

{{/* The configuration file's text: the config value, else the example. */}}
{{- define "socmond.config" -}}
{{- .Values.config | default (.Files.Get "files/config.yaml") }}
{{- end }}

{{- define "socmond.configMapName" -}}
{{- .Values.existingConfigMap | default (include "socmond.suffixed" (dict "root" . "suffix" "config")) }}
{{- end }}

{{- define "socmond.webConfigSecretName" -}}
{{- .Values.webConfig.existingSecret | default (include "socmond.suffixed" (dict "root" . "suffix" "web-config")) }}
{{- end }}

{{- define "socmond.webConfigEnabled" -}}
{{- if or .Values.webConfig.config .Values.webConfig.existingSecret }}true{{ end }}
{{- end }}

{{/*
The tenant label the scrape adds: serviceMonitor.tenant, else `tenant:`
from the chart's config (socmond's default, "default", when it has none).
A config of your own ConfigMap, or one whose tenant comes from the
environment, cannot be read here: set serviceMonitor.tenant.
*/}}
{{- define "socmond.tenant" -}}
{{- if .Values.serviceMonitor.tenant }}
{{- .Values.serviceMonitor.tenant }}
{{- else if .Values.existingConfigMap }}
{{- fail "serviceMonitor.tenant: set it to the tenant in your ConfigMap's config.yaml (the chart cannot read it)" }}
{{- else }}
{{- $cfg := include "socmond.config" . | fromYaml }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "config is not YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- $tenant := toString ($cfg.tenant | default "default") }}
{{- if contains "${" $tenant }}
{{- fail (printf "serviceMonitor.tenant: set it; the config's tenant %q is only known at run time" $tenant) }}
{{- end }}
{{- $tenant }}
{{- end }}
{{- end }}
