package server

import (
	"bytes"
	"html/template"
	"net/http"
)

// landingTmpl is the small page at "/". It lives apart from the routing so
// the fuller status page can replace it without touching server.go.
var landingTmpl = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>socmond</title>
</head>
<body>
<h1>socmond</h1>
<p>Health monitor for the AWS services of the SOC alert pipeline. Version {{.Version}}.</p>
<ul>
<li><a href="metrics">Metrics</a></li>
<li><a href="api/v1/status">Status (JSON)</a></li>
<li><a href="-/healthy">Healthy</a></li>
<li><a href="-/ready">Ready</a></li>
</ul>
</body>
</html>
`))

func (s *Server) landing(w http.ResponseWriter, _ *http.Request) {
	// Render into a buffer first so a template error becomes a clean 500
	// instead of half a page.
	var buf bytes.Buffer
	if err := landingTmpl.Execute(&buf, struct{ Version string }{s.version}); err != nil {
		s.log.Error().Err(err).Msg("rendering landing page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
