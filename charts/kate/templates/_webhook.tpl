{{/* Pieces shared by the mutating and the validating webhook configurations. */}}

{{/* Pod CREATE, and the ephemeralcontainers subresource UPDATE that `kubectl debug` sends. */}}
{{- define "kate.webhook.rules" -}}
- apiGroups: [""]
  apiVersions: [v1]
  operations: [CREATE]
  resources: [pods]
  scope: Namespaced
- apiGroups: [""]
  apiVersions: [v1]
  operations: [UPDATE]
  resources: [pods/ephemeralcontainers]
  scope: Namespaced
{{- end -}}

{{/*
Opt-out by namespace: never kube-system nor kate's own namespace (kate must be able to start
without itself), nor a namespace labelled kate.dev/skip=true. kubernetes.io/metadata.name is
the immutable label the apiserver sets on every namespace.
*/}}
{{- define "kate.webhook.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- range uniq (concat (list "kube-system" .Release.Namespace) .Values.admission.excludeNamespaces) }}
      - {{ . | quote }}
      {{- end }}
  - key: kate.dev/skip
    operator: NotIn
    values: ["true"]
  {{- with .Values.admission.namespaceSelectorExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Opt-out by pod label; the kate.dev/skip pod ANNOTATION is enforced by the server itself. */}}
{{- define "kate.webhook.objectSelector" -}}
matchExpressions:
  - key: kate.dev/skip
    operator: NotIn
    values: ["true"]
  {{- with .Values.admission.objectSelectorExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "kate.webhook.clientConfig" -}}
service:
  name: {{ include "kate.serviceName" .ctx }}
  namespace: {{ .ctx.Release.Namespace }}
  path: {{ .path }}
  port: {{ int64 .ctx.Values.webhook.service.port }}
{{- with .caBundle }}
caBundle: {{ . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations for the configurations: cert-manager's CA injector fills caBundle. */}}
{{- define "kate.webhook.configAnnotations" -}}
{{- if eq .Values.tls.mode "certManager" -}}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "kate.webhook.fullname" . }}
{{- end -}}
{{- end -}}
