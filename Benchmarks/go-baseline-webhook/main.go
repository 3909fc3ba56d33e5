// go-baseline-webhook: the smallest honest Go admission webhook, for scripts/bench-admission.sh
// to run side by side with kate. net/http over TLS (crypto/tls defaults: TLS 1.3, keep-alive),
// POST /mutate decodes the AdmissionReview with encoding/json (as controller-runtime does),
// looks each container image up in a fixed image -> digest map read at start (what kate's cache
// holds after warm-up; no registry, no credentials, no logging), and answers a JSON Patch that
// pins them. Standard library only: built offline with GO111MODULE=off.
//
//	go-baseline-webhook -listen 127.0.0.1:PORT -cert tls.crt -key tls.key -digests digests.json
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
)

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

type review struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    struct {
		UID    string `json:"uid"`
		Object struct {
			Spec struct {
				InitContainers []container `json:"initContainers"`
				Containers     []container `json:"containers"`
			} `json:"spec"`
		} `json:"object"`
	} `json:"request"`
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

type response struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Response   struct {
		UID       string `json:"uid"`
		Allowed   bool   `json:"allowed"`
		PatchType string `json:"patchType,omitempty"`
		Patch     string `json:"patch,omitempty"`
	} `json:"response"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "address")
	cert := flag.String("cert", "", "serving certificate (PEM)")
	key := flag.String("key", "", "serving key (PEM)")
	digestsFile := flag.String("digests", "", "JSON object: image -> sha256 digest")
	flag.Parse()

	digests := map[string]string{}
	data, err := os.ReadFile(*digestsFile)
	if err != nil {
		log.Fatalf("read -digests: %v", err)
	}
	if err := json.Unmarshal(data, &digests); err != nil {
		log.Fatalf("parse -digests: %v", err)
	}

	http.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in review
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, "malformed AdmissionReview: "+err.Error(), http.StatusBadRequest)
			return
		}
		var ops []patchOp
		pin := func(list []container, field string) {
			for i, c := range list {
				if d, ok := digests[c.Image]; ok {
					ops = append(ops, patchOp{"replace", "/spec/" + field + "/" + strconv.Itoa(i) + "/image", c.Image + "@" + d})
				}
			}
		}
		pin(in.Request.Object.Spec.Containers, "containers")
		pin(in.Request.Object.Spec.InitContainers, "initContainers")
		var out response
		out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
		out.Response.UID, out.Response.Allowed = in.Request.UID, true
		if len(ops) > 0 {
			patch, _ := json.Marshal(ops)
			out.Response.PatchType = "JSONPatch"
			out.Response.Patch = base64.StdEncoding.EncodeToString(patch)
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(out); err != nil {
			log.Printf("write: %v", err)
		}
	})
	fmt.Fprintf(os.Stderr, "go-baseline-webhook listening on https://%s\n", *listen)
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, nil))
}
