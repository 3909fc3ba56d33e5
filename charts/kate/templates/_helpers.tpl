{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "kate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name; 54 characters leave room for "-webhook-ca" and "-sweeper". */}}
{{- define "kate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kate.webhook.fullname" -}}{{ include "kate.fullname" . }}-webhook{{- end -}}
{{- define "kate.sweeper.fullname" -}}{{ include "kate.fullname" . }}-sweeper{{- end -}}

{{/* The Service name is what the serving cert's SANs and the webhook clientConfig name. */}}
{{- define "kate.serviceName" -}}{{ include "kate.webhook.fullname" . }}{{- end -}}

{{- define "kate.tls.secretName" -}}
{{- if eq .Values.tls.mode "existingSecret" -}}
{{- required "tls.mode=existingSecret needs tls.existingSecret.name: the kubernetes.io/tls Secret (tls.crt, tls.key) in the release namespace" .Values.tls.existingSecret.name -}}
{{- else -}}
{{- include "kate.webhook.fullname" . }}-tls
{{- end -}}
{{- end -}}

{{- define "kate.tls.caSecretName" -}}{{ include "kate.webhook.fullname" . }}-ca{{- end -}}

{{/* The four DNS names the serving cert carries; the apiserver verifies "<svc>.<ns>.svc". */}}
{{- define "kate.tls.dnsNames" -}}
{{- $svc := include "kate.serviceName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{- define "kate.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create -}}
{{- default (include "kate.webhook.fullname" .) .Values.webhook.serviceAccount.name -}}
{{- else -}}
{{- /* Never fall back to "default": the webhook's role would be granted to every pod using it. */ -}}
{{- required "webhook.serviceAccount.create=false needs webhook.serviceAccount.name (an existing ServiceAccount used only by kate's webhook)" .Values.webhook.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kate.sweeper.serviceAccountName" -}}
{{- if .Values.sweeper.serviceAccount.create -}}
{{- default (include "kate.sweeper.fullname" .) .Values.sweeper.serviceAccount.name -}}
{{- else -}}
{{- /* Never fall back to "default": the sweeper's role would be granted to every pod using it. */ -}}
{{- required "sweeper.serviceAccount.create=false needs sweeper.serviceAccount.name (an existing ServiceAccount used only by kate's sweeper)" .Values.sweeper.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels -------------------------------------------------------------------------------- */}}

{{- define "kate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "kate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels for one component ("webhook" or "sweeper"): call with (dict "ctx" $ "component" "webhook"). */}}
{{- define "kate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kate.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kate.componentLabels" -}}
{{ include "kate.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image and shared pod pieces --------------------------------------------------------- */}}

{{- define "kate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Pod Security "restricted": https://kubernetes.io/docs/concepts/security/pod-security-standards/ */}}
{{- define "kate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kate.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* RegistryOptions flags, shared by `kate webhook` and `kate sweep`. */}}
{{- define "kate.registryArgs" -}}
- --cache-ttl={{ .Values.registry.cacheTTL }}
- --negative-cache-ttl={{ .Values.registry.negativeCacheTTL }}
{{- range .Values.registry.insecureRegistries }}
- --insecure-registry={{ . }}
{{- end }}
- --registry-concurrency={{ int64 .Values.registry.concurrency }}
- --registry-timeout={{ .Values.registry.timeout }}
{{- if .Values.registry.dockerConfig.secretName }}
- --docker-config=/etc/kate/docker/config.json
{{- end }}
{{- if .Values.registry.config }}
- --registry-config=/etc/kate/registry/config
{{- end }}
{{- end -}}

{{- define "kate.logArgs" -}}
- --log-level={{ .Values.log.level }}
- --log-format={{ .Values.log.format }}
{{- end -}}

{{- define "kate.registryVolumeMounts" -}}
{{- if .Values.registry.dockerConfig.secretName }}
- name: docker-config
  mountPath: /etc/kate/docker
  readOnly: true
{{- end }}
{{- if .Values.registry.config }}
- name: registry-config
  mountPath: /etc/kate/registry
  readOnly: true
{{- end }}
{{- end -}}

{{- define "kate.registryVolumes" -}}
{{- if .Values.registry.dockerConfig.secretName }}
- name: docker-config
  secret:
    secretName: {{ .Values.registry.dockerConfig.secretName }}
    defaultMode: 0440
    items:
      - key: {{ .Values.registry.dockerConfig.key }}
        path: config.json
{{- end }}
{{- if .Values.registry.config }}
- name: registry-config
  configMap:
    name: {{ include "kate.fullname" . }}-registry
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Env shared by every kate container: the pod's namespace (kate skips its own) and user extras. */}}
{{- define "kate.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Fail early, with the fix in the message, when a needed API is not served. */}}
{{- define "kate.requireAPI" -}}
{{- if not (.ctx.Capabilities.APIVersions.Has .api) -}}
{{- fail (printf "%s needs the %s API, which this cluster does not serve (%s). With `helm template`, pass --api-versions %s." .what .api .hint .api) -}}
{{- end -}}
{{- end -}}
