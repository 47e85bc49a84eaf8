package conformance

import (
	"encoding/xml"
	"fmt"
	"os"
)

// junitReport is the part of the suite's results/junit.xml the test reads.
type junitReport struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Disabled int          `xml:"disabled,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Disabled int         `xml:"disabled,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name    string        `xml:"name,attr"`
	Status  string        `xml:"status,attr"`
	Failure *junitMessage `xml:"failure"`
	Error   *junitMessage `xml:"error"`
	Skipped *junitMessage `xml:"skipped"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func readJUnit(path string) (*junitReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r junitReport
	if err := xml.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Count from the suites too, in case the top level leaves a total out.
	for _, s := range r.Suites {
		r.Failures = max(r.Failures, s.Failures)
		r.Errors = max(r.Errors, s.Errors)
		r.Skipped = max(r.Skipped, s.Skipped)
		r.Disabled = max(r.Disabled, s.Disabled)
		r.Tests = max(r.Tests, s.Tests)
	}
	return &r, nil
}

func (r *junitReport) cases() []junitCase {
	var out []junitCase
	for _, s := range r.Suites {
		out = append(out, s.Cases...)
	}
	return out
}

// notPassed returns the test cases that did not pass.
func (r *junitReport) notPassed() []junitCase {
	var out []junitCase
	for _, c := range r.cases() {
		if c.Status != "passed" || c.Failure != nil || c.Error != nil || c.Skipped != nil {
			out = append(out, c)
		}
	}
	return out
}

func (c junitCase) message() string {
	for _, m := range []*junitMessage{c.Failure, c.Error, c.Skipped} {
		if m != nil {
			if m.Message != "" {
				return m.Message
			}
			return m.Text
		}
	}
	return ""
}
