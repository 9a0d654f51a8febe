{{/* Chart name, overridable; truncated to the 63 characters a label value allows. */}}
{{- define "featureforge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "featureforge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of the operator's Deployment, ClusterRole, bindings and Service. */}}
{{- define "featureforge.operatorName" -}}
{{- printf "%s-operator" (include "featureforge.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "featureforge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "featureforge.labels" -}}
helm.sh/chart: {{ include "featureforge.chart" . }}
{{ include "featureforge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: featureforge
{{- end -}}

{{/* Labels that select the operator's pods (immutable in a Deployment: keep them stable). */}}
{{- define "featureforge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "featureforge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The operator's ServiceAccount; with create=false the user must name an existing one. */}}
{{- define "featureforge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "featureforge.operatorName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create=false (name an existing ServiceAccount)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Default image of featureforge workloads (executors, feature servers). */}}
{{- define "featureforge.workloadImage" -}}
{{- printf "featureforge/featureforge:%s" .Chart.AppVersion -}}
{{- end -}}
