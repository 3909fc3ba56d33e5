// go-burst-client: the outage rows' client for scripts/bench-admission.sh, written apart from kate
// (Go net/http, crypto/tls verifying the webhook's certificate) so the latency it reports is not
// shaped by kate's own HTTP client. It opens -c keep-alive connections first (one warm-up review
// on each, all at once, not timed: the apiserver keeps its connections to a webhook open), then
// sends -n reviews, -c at a time, each for the image -image with %d replaced by the review's
// index, and prints one JSON line: p50/p99/max of each review's own wall time in ms (no
// coordinated-omission correction: these are the answers the API server waits for), the whole
// burst's wall time, and how many answers were not HTTP 200 with "allowed": true. With -metrics-url
// it also reads kate's kate_admission_duration_seconds histogram before and after the timed reviews
// and prints the smallest bucket bound that holds 99 % of them: the server's own time per review
// (from the review's first byte to its answer), apart from the client and the TLS records.
// Standard library only: built offline with GO111MODULE=off.
//
//	go-burst-client -url https://127.0.0.1:PORT/mutate?timeout=10s -ca ca.pem -server-name kate.kate-system.svc \
//	    -review review.json -image '127.0.0.1:5000/bench/app:t%d' -warm-image '127.0.0.1:5000/bench/app:warm' -n 200 -c 16
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The review file's image value the client replaces per request.
const placeholder = "IMAGE_PLACEHOLDER"

type answer struct {
	Response struct {
		Allowed bool `json:"allowed"`
	} `json:"response"`
}

// post sends one review and reports whether it was answered 200 with allowed: true.
func post(client *http.Client, url string, body []byte) bool {
	response, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		log.Printf("review failed: %v", err)
		return false
	}
	defer response.Body.Close()
	data, err := io.ReadAll(response.Body)
	if err != nil || response.StatusCode != http.StatusOK {
		log.Printf("review answered HTTP %d: %.200s", response.StatusCode, data)
		return false
	}
	var decoded answer
	if json.Unmarshal(data, &decoded) != nil || !decoded.Response.Allowed {
		log.Printf("review not allowed: %.200s", data)
		return false
	}
	return true
}

// histogram reads kate's admission duration buckets: bound in seconds -> cumulative count.
func histogram(client *http.Client, url string) map[float64]float64 {
	response, err := client.Get(url)
	if err != nil {
		log.Fatalf("metrics %s: %v", url, err)
	}
	defer response.Body.Close()
	data, _ := io.ReadAll(response.Body)
	buckets := map[float64]float64{}
	const prefix = `kate_admission_duration_seconds_bucket{le="`
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		rest := line[len(prefix):]
		end := strings.Index(rest, `"}`)
		if end < 0 {
			continue
		}
		bound, err := strconv.ParseFloat(rest[:end], 64)
		if rest[:end] == "+Inf" {
			bound, err = 1e9, nil
		}
		count, err2 := strconv.ParseFloat(strings.TrimSpace(rest[end+2:]), 64)
		if err == nil && err2 == nil {
			buckets[bound] = count
		}
	}
	if len(buckets) == 0 {
		log.Fatalf("metrics %s: no kate_admission_duration_seconds buckets", url)
	}
	return buckets
}

// serverP99 is the smallest bucket bound (ms) holding 99 % of the reviews counted between before and after.
func serverP99(before, after map[float64]float64) (float64, float64) {
	bounds := make([]float64, 0, len(after))
	for bound := range after {
		bounds = append(bounds, bound)
	}
	sort.Float64s(bounds)
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	for _, bound := range bounds {
		if after[bound]-before[bound] >= total*0.99 {
			return bound * 1000, total
		}
	}
	return bounds[len(bounds)-1] * 1000, total
}

func milliseconds(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func main() {
	url := flag.String("url", "", "the webhook's /mutate URL")
	caFile := flag.String("ca", "", "PEM CA that signed the webhook's certificate")
	serverName := flag.String("server-name", "", "TLS server name to verify")
	reviewFile := flag.String("review", "", "AdmissionReview JSON whose one image is "+placeholder)
	image := flag.String("image", "", "image per review; %d is replaced by the review's index (absent: the same image every time)")
	warmImage := flag.String("warm-image", "", "image of the untimed warm-up reviews (default: -image with index -1)")
	metricsURL := flag.String("metrics-url", "", "kate's /metrics URL (optional)")
	count := flag.Int("n", 200, "timed reviews")
	concurrency := flag.Int("c", 16, "reviews in flight (and keep-alive connections)")
	flag.Parse()

	template, err := os.ReadFile(*reviewFile)
	if err != nil || !bytes.Contains(template, []byte(placeholder)) {
		log.Fatalf("-review %s: unreadable or without %s (%v)", *reviewFile, placeholder, err)
	}
	pem, err := os.ReadFile(*caFile)
	roots := x509.NewCertPool()
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("-ca %s: no PEM certificate (%v)", *caFile, err)
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, ServerName: *serverName},
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
	}
	client := &http.Client{Transport: transport, Timeout: 15 * time.Second}
	body := func(index int) []byte {
		name := *image
		if strings.Contains(name, "%d") {
			name = fmt.Sprintf(name, index)
		}
		return bytes.Replace(template, []byte(placeholder), []byte(name), 1)
	}
	warm := body(-1)
	if *warmImage != "" {
		warm = bytes.Replace(template, []byte(placeholder), []byte(*warmImage), 1)
	}

	var group sync.WaitGroup
	for worker := 0; worker < *concurrency; worker++ {
		group.Add(1)
		go func() { defer group.Done(); post(client, *url, warm) }()
	}
	group.Wait()

	var before map[float64]float64
	if *metricsURL != "" {
		before = histogram(client, *metricsURL)
	}
	latencies := make([]time.Duration, *count)
	failed := make([]bool, *count)
	next := make(chan int, *count)
	for index := 0; index < *count; index++ {
		next <- index
	}
	close(next)
	begin := time.Now()
	for worker := 0; worker < *concurrency; worker++ {
		group.Add(1)
		go func() {
			defer group.Done()
			for index := range next {
				request := body(index)
				start := time.Now()
				ok := post(client, *url, request)
				latencies[index] = time.Since(start)
				failed[index] = !ok
			}
		}()
	}
	group.Wait()
	wall := time.Since(begin)

	failures := 0
	for _, f := range failed {
		if f {
			failures++
		}
	}
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	// p99 of n samples: the sample 99 % of them are at or below (the 198th of 200).
	p99 := latencies[(*count*99+99)/100-1]
	result := map[string]interface{}{
		"reviews": *count, "concurrency": *concurrency, "failed": failures,
		"p50_ms": milliseconds(latencies[*count/2]), "p99_ms": milliseconds(p99),
		"max_ms": milliseconds(latencies[*count-1]), "wall_ms": milliseconds(wall),
	}
	if *metricsURL != "" {
		bound, counted := serverP99(before, histogram(client, *metricsURL))
		result["server_p99_le_ms"], result["server_counted"] = bound, counted
	}
	encoded, _ := json.Marshal(result)
	fmt.Println(string(encoded))
}
