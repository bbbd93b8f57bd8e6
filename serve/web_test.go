package serve

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromium is where Debian's chromium package puts the browser.
const chromium = "/usr/bin/chromium"

// TestWebPage drives the page at / in headless Chromium: it lists the
// models, and its three forms get answers from the API (generation
// streamed). It is skipped where Chromium is not installed (apt-get install
// chromium). RNNKIT_SCREENSHOT=FILE.png saves what the page shows.
func TestWebPage(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser at %s (apt-get install chromium to run this test)", chromium)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	_, ts := newTest(t, models(t), nil)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1000, 1400))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	text := func(id string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err, "#%s", id)
		return v
	}
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`))
		require.NoError(t, err)
		return n
	}
	wait := func(cond string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Minute))
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("gen-go")),
		wait(`document.getElementById("models").textContent.includes("translate es->en")`),
	))
	models := text("models")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("gen-seed"), "KING:"),
		chromedp.SetValue(chromedp.ID("gen-max"), "80"),
		chromedp.SetValue(chromedp.ID("gen-rng"), "3"),
		chromedp.Click(chromedp.ID("gen-go")),
		wait(`document.getElementById("gen-info").textContent.includes("finished")`),
	))
	gen, genInfo := text("gen-out"), text("gen-info")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("cls-go")),
		wait(`document.querySelectorAll("#cls-out tr").length > 0`),
	))
	rows, cls := count("#cls-out tr"), text("cls-out")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("tr-text"), "Good morning\n¿Dónde está la estación?"),
		chromedp.SetValue(chromedp.ID("tr-from"), "auto"),
		chromedp.Click(chromedp.ID("tr-go")),
		wait(`document.querySelectorAll("#tr-out tr").length > 0`),
	))
	trRows, tr := count("#tr-out tr"), text("tr-out")
	require.Contains(t, models, "generate (charrnn")
	require.Contains(t, models, "classify (sentiment")
	require.Contains(t, models, "translate en->es")

	// The streamed text is the API's text for the same seed.
	var want GenerateResponse
	postOK(t, ts, "/v1/generate", `{"seed": "KING:", "max_chars": 80, "rng_seed": 3, "temperature": 0.8}`, &want)
	require.Equal(t, strings.Join(strings.Fields(want.Text), " "), strings.Join(strings.Fields(gen), " "))
	require.Contains(t, genInfo, "80 characters")
	require.Contains(t, genInfo, "rng_seed 3")

	require.Equal(t, 2, rows)
	require.Regexp(t, `(positive|negative) 0\.\d{3}`, cls)
	require.Equal(t, 2, trRows)
	require.Contains(t, tr, "en->es")
	require.Contains(t, tr, "es->en")

	if path := os.Getenv("RNNKIT_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, png, 0o644))
	}
}
