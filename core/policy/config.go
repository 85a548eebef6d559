package policy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the policy section of the owner's configuration, in the shape
// of Codex's execpolicy prefix rules:
//
//	policy:
//	  - match: [git, push]            # or pattern:
//	    decision: prompt              # allow | prompt | forbidden
//	    justification: "pushes leave the machine"   # or reason:
//	    examples: ["git push origin main"]          # must match
//	    not_examples: ["git status"]                 # must not match
//
// Examples are checked when the configuration loads: a rule whose
// examples it does not match (or whose not_examples it does) fails the
// load, naming the rule's line.
type Config struct {
	Policy []RuleConfig `yaml:"policy"`
}

// RuleConfig is one rule as written in YAML.
type RuleConfig struct {
	Match       []string `yaml:"match,omitempty"`
	Decision    string   `yaml:"decision"`
	Reason      string   `yaml:"reason,omitempty"`
	Examples    []string `yaml:"examples,omitempty"`
	NotExamples []string `yaml:"not_examples,omitempty"`
	// Line is the rule's line in its file (0 when not read from YAML).
	Line int `yaml:"-"`
}

// ruleKeys are the keys a rule may have; pattern and justification are
// execpolicy's names for match and reason.
var ruleKeys = []string{"match", "pattern", "decision", "reason", "justification", "examples", "not_examples"}

// UnmarshalYAML reads a rule, keeping its line, and refuses unknown keys
// and a rule that gives both of a pair of synonyms.
func (rc *RuleConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a policy rule is a mapping, as {match: [git, push], decision: prompt}", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if !slices.Contains(ruleKeys, k) {
			return fmt.Errorf("line %d: field %s not found in a policy rule (want one of %s)", n.Content[i].Line, k, strings.Join(ruleKeys, ", "))
		}
		var err error
		switch k {
		case "match", "pattern":
			if seen["match"] {
				return fmt.Errorf("line %d: give match or pattern, not both", n.Content[i].Line)
			}
			seen["match"] = true
			err = v.Decode(&rc.Match)
		case "reason", "justification":
			if seen["reason"] {
				return fmt.Errorf("line %d: give reason or justification, not both", n.Content[i].Line)
			}
			seen["reason"] = true
			err = v.Decode(&rc.Reason)
		case "decision":
			err = v.Decode(&rc.Decision)
		case "examples":
			err = v.Decode(&rc.Examples)
		case "not_examples":
			err = v.Decode(&rc.NotExamples)
		}
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k, err)
		}
	}
	rc.Line = n.Line
	return nil
}

// ParseConfig decodes a YAML document holding a policy: key, rejecting
// unknown keys, and returns its rules. Errors name the rule's line.
func ParseConfig(data []byte) ([]Rule, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return c.Rules()
}

// RuleError is a rule that does not load: its number, its line in the
// file (0 when unknown) and why.
type RuleError struct {
	Index, Line int
	Err         error
}

func (e *RuleError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("policy rule %d (line %d): %v", e.Index, e.Line, e.Err)
	}
	return fmt.Sprintf("policy rule %d: %v", e.Index, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Rules converts c to rules, checking each and its examples; an error is
// a *RuleError.
func (c Config) Rules() ([]Rule, error) {
	rules := make([]Rule, 0, len(c.Policy))
	for i, rc := range c.Policy {
		r, err := rc.rule(i + 1)
		if err != nil {
			return nil, &RuleError{Index: i + 1, Line: rc.Line, Err: err}
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func (rc RuleConfig) rule(n int) (Rule, error) {
	d, err := ParseDecision(rc.Decision)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Match: rc.Match, Decision: d, Reason: rc.Reason}
	if r.Reason == "" {
		r.Reason = fmt.Sprintf("rule %d (%v)", n, rc.Match)
	}
	if err := r.validate(); err != nil {
		return Rule{}, err
	}
	return r, r.checkExamples(rc.Examples, rc.NotExamples)
}

// checkExamples reports the first example r does not match and the first
// not_example it does. An example is a command line, read as sh -c reads
// it; it matches when the rule matches any command in it.
func (r Rule) checkExamples(yes, no []string) error {
	p := &Policy{rules: []Rule{r}, def: Allow}
	matches := func(line string) bool {
		return p.Check([]string{"sh", "-c", line}).Rule != nil
	}
	for _, ex := range yes {
		if !matches(ex) {
			return fmt.Errorf("example %q does not match %v", ex, r.Match)
		}
	}
	for _, ex := range no {
		if matches(ex) {
			return fmt.Errorf("not_example %q matches %v", ex, r.Match)
		}
	}
	return nil
}
