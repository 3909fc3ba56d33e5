{{/* PrometheusRule helpers ---------------------------------------------------------------- */}}

{{/* The label matchers of the webhook's series: what the chart's ServiceMonitor scrapes them as. */}}
{{- define "kate.alerts.webhookSelector" -}}
{{- .Values.alerts.webhookSelector | default (printf "job=%q, namespace=%q" (include "kate.serviceName" .) .Release.Namespace) -}}
{{- end -}}

{{/* Two schedule intervals of sweeper.schedule, as a Prometheus duration: how old the last
     successful sweep may get before KateSweepNotSucceeding fires. */}}
{{- define "kate.alerts.sweepNotSucceededFor" -}}
{{- $given := .Values.alerts.sweeper.notSucceededFor -}}
{{- if $given -}}
{{- $given -}}
{{- else -}}
{{- $schedule := .Values.sweeper.schedule | trim -}}
{{- $macros := dict "@hourly" "2h" "@daily" "2d" "@midnight" "2d" "@weekly" "2w" "@monthly" "62d" "@yearly" "732d" "@annually" "732d" -}}
{{- $fields := splitList " " (regexReplaceAll "\\s+" $schedule " ") -}}
{{- $number := "^[0-9]+$" -}}
{{- if hasKey $macros $schedule -}}
{{- get $macros $schedule -}}
{{- else if and (eq (len $fields) 5) (eq (slice $fields 2 | join " ") "* * *") (regexMatch $number (index $fields 0)) (eq (index $fields 1) "*") -}}
2h
{{- else if and (eq (len $fields) 5) (eq (slice $fields 1 | join " ") "* * * *") (regexMatch "^\\*/[0-9]+$" (index $fields 0)) -}}
{{- mul 2 (trimPrefix "*/" (index $fields 0) | atoi) }}m
{{- else if and (eq (len $fields) 5) (eq (slice $fields 2 | join " ") "* * *") (regexMatch $number (index $fields 0)) (regexMatch $number (index $fields 1)) -}}
2d
{{- else -}}
{{- fail (printf "alerts.enabled cannot derive two sweep intervals from sweeper.schedule %q: set alerts.sweeper.notSucceededFor (e.g. 2d)" $schedule) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The labels every alert carries: severity, the user's routing labels. */}}
{{- define "kate.alerts.ruleLabels" -}}
severity: {{ .Values.alerts.severity | quote }}
{{- with omit .Values.alerts.ruleLabels "severity" }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A Prometheus duration ("2h", "1h30m", "62d") in seconds, for comparing with time() arithmetic. */}}
{{- define "kate.alerts.seconds" -}}
{{- $unit := dict "ms" 0.001 "s" 1 "m" 60 "h" 3600 "d" 86400 "w" 604800 "y" 31536000 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" . -1 -}}
{{- $name := regexFind "(ms|s|m|h|d|w|y)$" . -}}
{{- $total = addf $total (mulf (trimSuffix $name . | atoi) (get $unit $name)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
