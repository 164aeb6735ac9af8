package awssim

import (
	"encoding/json"
	"strings"
	"time"
)

// Pipeline describes what the SOC pipeline's executions write once their
// Lambda stages have run: the investigation item (with the Bedrock analysis
// attribute), the artifact (SSE-KMS), the audit artifact (Object Lock
// COMPLIANCE) and a compliance artifact. Templates take {investigation_id}
// and {tenant}, read from the execution input's detail.investigationId and
// detail.tenantId; executions without an investigationId write nothing.
//
// Pipeline defects are injected as faults on service "pipeline" (resource:
// the state machine name, optional) with one of the states in
// PipelineDefects; a Lambda fault on a stage's function makes that stage fail
// (error, or a non-invocable state) or slow (latency); an EventBridge fault
// with state DISABLED on a rule stops its deliveries.
type Pipeline struct {
	StateMachine      string        // name or ARN; empty = every seeded state machine
	Table             string        // investigations table
	KeyAttribute      string        // its partition key (default: the table's key)
	KeyTemplate       string        // default "{investigation_id}"
	AnalysisAttribute string        // default "analysis"
	ArtifactsBucket   string        //
	ArtifactKey       string        // default "investigations/{tenant}/{investigation_id}/report.json"
	AuditBucket       string        //
	AuditKey          string        // default "audit/{tenant}/{investigation_id}.json"
	CompliancePrefix  string        // in the artifacts bucket, default "compliance/{tenant}/{investigation_id}/"
	StageDuration     time.Duration // simulated run time of each Lambda stage
}

// pipelineFaults is what faults on "pipeline" may do: set one of the
// PipelineDefects as State. It is a fault target, not a service.
var pipelineFaults = &service{name: "pipeline", states: PipelineDefects}

// PipelineDefects are the fault states of service "pipeline".
var PipelineDefects = []string{
	"ANALYSIS_SKIPPED",     // the item is written without the analysis attribute
	"ITEM_NOT_WRITTEN",     // no investigation item
	"ARTIFACT_MISSING",     // no artifact in the artifacts bucket
	"ARTIFACT_UNENCRYPTED", // the artifact is stored with SSE-S3 instead of the KMS key
	"AUDIT_MISSING",        // no audit artifact
	"RETENTION_SHORT",      // the audit artifact is locked for 30 days only
	"COMPLIANCE_MISSING",   // no compliance artifact
}

func (p *Pipeline) withDefaults() {
	p.KeyTemplate = firstNonEmpty(p.KeyTemplate, "{investigation_id}")
	p.AnalysisAttribute = firstNonEmpty(p.AnalysisAttribute, "analysis")
	p.ArtifactKey = firstNonEmpty(p.ArtifactKey, "investigations/{tenant}/{investigation_id}/report.json")
	p.AuditKey = firstNonEmpty(p.AuditKey, "audit/{tenant}/{investigation_id}.json")
	p.CompliancePrefix = firstNonEmpty(p.CompliancePrefix, "compliance/{tenant}/{investigation_id}/")
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// appliesTo reports whether executions of machine m write what p describes.
func (p *Pipeline) appliesTo(m *stateMachine) bool {
	return p.StateMachine == "" || p.StateMachine == m.arn || p.StateMachine == m.name
}

// writeOutputs stores what a successful execution of a state machine of sc
// produces, in sc. It runs under s.mu.
func (s *Sim) writeOutputs(sc *scope, m *stateMachine, x *execution, defect string) {
	p := sc.pipeline
	if p == nil || !p.appliesTo(m) {
		return
	}
	var in struct {
		Detail struct {
			InvestigationID string `json:"investigationId"`
			TenantID        string `json:"tenantId"`
			Severity        string `json:"severity"`
		} `json:"detail"`
	}
	_ = json.Unmarshal([]byte(x.input), &in)
	id := in.Detail.InvestigationID
	if id == "" {
		return
	}
	fill := strings.NewReplacer("{investigation_id}", id, "{tenant}", in.Detail.TenantID).Replace
	now := time.Now()

	if t := sc.ddb().tables[p.Table]; t != nil && defect != "ITEM_NOT_WRITTEN" {
		keyAttr := firstNonEmpty(p.KeyAttribute, t.keyAttr)
		str := func(v string) json.RawMessage { b, _ := json.Marshal(map[string]string{"S": v}); return b }
		item := map[string]json.RawMessage{
			keyAttr:            str(fill(p.KeyTemplate)),
			"tenantId":         str(in.Detail.TenantID),
			"status":           str("CLOSED"),
			"executionArn":     str(x.arn),
			"createdAt":        str(now.UTC().Format(time.RFC3339)),
			"investigationRef": str(id),
		}
		if defect != "ANALYSIS_SKIPPED" {
			item[p.AnalysisAttribute] = str("Synthetic alert analysed by the simulated Bedrock stage: benign.")
		}
		t.items[fill(p.KeyTemplate)] = item
	}
	report := []byte(`{"investigationId":"` + id + `","verdict":"benign"}`)
	if b := sc.s3().buckets[p.ArtifactsBucket]; b != nil {
		if defect != "ARTIFACT_MISSING" {
			v := s.newObject(b, report)
			if defect == "ARTIFACT_UNENCRYPTED" {
				v.sse, v.kmsKeyARN, v.bucketKey = "AES256", "", false
			}
			b.put(fill(p.ArtifactKey), v)
		}
		if defect != "COMPLIANCE_MISSING" {
			b.put(fill(p.CompliancePrefix)+"evidence.json", s.newObject(b, report))
		}
	}
	if b := sc.s3().buckets[p.AuditBucket]; b != nil && defect != "AUDIT_MISSING" {
		v := s.newObject(b, report)
		v.lockMode, v.retainUntil = "COMPLIANCE", now.AddDate(7, 0, 2)
		if defect == "RETENTION_SHORT" {
			v.retainUntil = now.AddDate(0, 0, 30)
		}
		b.put(fill(p.AuditKey), v)
	}
}

// newObject is an object written by the pipeline with the bucket's default
// encryption, as a Lambda stage calling PutObject without SSE headers gets.
func (s *Sim) newObject(b *bucket, data []byte) *objectVersion {
	v := &objectVersion{versionID: "null", data: data, etag: etagOf(data), lastModified: time.Now(),
		contentType: "application/json", checksums: map[string]string{}, meta: map[string]string{},
		sse: firstNonEmpty(b.sseAlg, "AES256"), kmsKeyARN: b.sseKeyARN, bucketKey: b.bucketKey}
	if v.sse != "aws:kms" && v.sse != "aws:kms:dsse" {
		v.kmsKeyARN, v.bucketKey = "", false
	}
	return v
}

func (b *bucket) put(key string, v *objectVersion) {
	if b.lock {
		v.versionID = newVersionID()
		b.objects[key] = append(b.objects[key], v)
		return
	}
	b.objects[key] = []*objectVersion{v}
}
