package policy

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Config is the policy section of the owner's configuration:
//
//	policy:
//	  - {match: [git, push], decision: prompt, reason: "pushes leave the machine"}
//	  - {match: [rm], decision: prompt}
type Config struct {
	Policy []RuleConfig `yaml:"policy"`
}

// RuleConfig is one rule as written in YAML.
type RuleConfig struct {
	Match    []string `yaml:"match"`
	Decision string   `yaml:"decision"`
	Reason   string   `yaml:"reason,omitempty"`
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

// Rules converts c to rules, checking each.
func (c Config) Rules() ([]Rule, error) {
	rules := make([]Rule, 0, len(c.Policy))
	for i, rc := range c.Policy {
		d, err := ParseDecision(rc.Decision)
		if err != nil {
			return nil, fmt.Errorf("policy rule %d: %w", i+1, err)
		}
		r := Rule{Match: rc.Match, Decision: d, Reason: rc.Reason}
		if r.Reason == "" {
			r.Reason = fmt.Sprintf("rule %d (%v)", i+1, rc.Match)
		}
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("policy rule %d: %w", i+1, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}
