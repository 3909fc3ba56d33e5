{{/*
"kate.tls.material" returns YAML {caBundle, ca: {crt, key}, serving: {crt, key, notAfter}, reused}
for tls.mode=generate, or {caBundle} for existingSecret, or {} for certManager. It is called once,
from webhook-configurations.yaml, because the Secret and the caBundle must come from the same
genCA call.

Stability across `helm upgrade`: the CA is rebuilt from the "<fullname>-webhook-ca" Secret with
buildCustomCert when it exists, and the serving cert is reused when it was signed by that CA, has
the same DNS names and is not within renewBeforeDays of expiry; otherwise a new serving cert is
signed by the SAME CA, so caBundle stays unchanged while kate hot-reloads the new files.
*/}}
{{- define "kate.tls.material" -}}
{{- $mode := .Values.tls.mode -}}
{{- if eq $mode "generate" -}}
{{- $ns := .Release.Namespace -}}
{{- include "kate.tls.generated" (dict "ctx" . "now" (now | unixEpoch | atoi)
      "caSecret" (lookup "v1" "Secret" $ns (include "kate.tls.caSecretName" .))
      "servingSecret" (lookup "v1" "Secret" $ns (include "kate.tls.secretName" .))) -}}
{{- else if eq $mode "existingSecret" -}}
{{- $bundle := required "tls.mode=existingSecret needs tls.existingSecret.caBundle: the CA that signed the Secret's cert (certs/make-certs.sh prints it)" .Values.tls.existingSecret.caBundle | trim -}}
{{- if hasPrefix "-----BEGIN" $bundle -}}
{{- $bundle = b64enc $bundle -}}
{{- end -}}
caBundle: {{ $bundle }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
"kate.tls.generated": the generate-mode decision, separated from `lookup` so tests can feed it
existing Secrets (lookup is always empty in `helm template`). Input: dict ctx, now (unix seconds),
caSecret, servingSecret (Secret objects or empty).
*/}}
{{- define "kate.tls.generated" -}}
{{- $ctx := .ctx -}}
{{- $gen := $ctx.Values.tls.generate -}}
{{- $svc := include "kate.serviceName" $ctx -}}
{{- $dnsNames := include "kate.tls.dnsNames" $ctx | fromJsonArray -}}
{{- $now := .now -}}
{{- $ca := dict -}}
{{- $caSecret := .caSecret -}}
{{- if and $caSecret (hasKey (default dict $caSecret.data) "tls.crt") (hasKey (default dict $caSecret.data) "tls.key") -}}
{{- $ca = buildCustomCert (index $caSecret.data "tls.crt") (index $caSecret.data "tls.key") -}}
{{- else -}}
{{- $ca = genCAWithKey (printf "%s CA" $svc) (int $gen.caValidityDays) (genPrivateKey "ecdsa") -}}
{{- end -}}
{{- $caB64 := b64enc $ca.Cert -}}
{{- $crt := "" -}}{{- $key := "" -}}{{- $notAfter := 0 -}}{{- $reused := false -}}
{{- $old := .servingSecret -}}
{{- if $old -}}
{{- $d := default dict $old.data -}}
{{- $a := default dict $old.metadata.annotations -}}
{{- $oldNotAfter := atoi (default "0" (index $a "kate.dev/cert-not-after")) -}}
{{- if and (hasKey $d "tls.crt") (hasKey $d "tls.key") (eq (index $d "ca.crt" | default "") $caB64)
          (eq (index $a "kate.dev/cert-dns-names" | default "") (join "," $dnsNames))
          (gt $oldNotAfter (add $now (mul (int $gen.renewBeforeDays) 86400))) -}}
{{- $crt = index $d "tls.crt" -}}{{- $key = index $d "tls.key" -}}{{- $notAfter = $oldNotAfter -}}{{- $reused = true -}}
{{- end -}}
{{- end -}}
{{- if not $reused -}}
{{- $cert := genSignedCertWithKey $svc nil $dnsNames (int $gen.certValidityDays) $ca (genPrivateKey "ecdsa") -}}
{{- $crt = b64enc $cert.Cert -}}{{- $key = b64enc $cert.Key -}}
{{- $notAfter = add $now (mul (int $gen.certValidityDays) 86400) -}}
{{- end -}}
caBundle: {{ $caB64 }}
reused: {{ $reused }}
ca:
  crt: {{ $caB64 }}
  key: {{ b64enc $ca.Key }}
serving:
  crt: {{ $crt }}
  key: {{ $key }}
  notAfter: {{ $notAfter | quote }}
  dnsNames: {{ join "," $dnsNames | quote }}
{{- end -}}
