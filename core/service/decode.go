package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/gimme-tools/carapace/core/errs"
)

func decodeParams(params json.RawMessage, v any) error {
	p := bytes.TrimSpace(params)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		p = []byte("{}")
	}
	if p[0] != '{' {
		return errs.E(errs.InvalidParams, errs.ReasonParamsByName,
			errs.Hint("pass params as an object, for example {\"path\": \"…\"}"))
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.E(errs.InvalidParams, errs.ReasonBadParams, paramError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.InvalidParams, errs.ReasonBadParams, errors.New("trailing data after params"))
	}
	return nil
}

// paramError rewrites encoding/json's messages into ones that name the
// parameter a caller got wrong.
func paramError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errors.New("param " + te.Field + ": expected " + te.Type.String() + ", got " + te.Value)
	}
	return err
}
