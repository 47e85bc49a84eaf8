package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SignRequest is one `berth sign`: the image, the cosign private key file
// (its password asked through Prompt), the format (bundle or legacy) and
// KEY=VALUE annotations signed with it.
type SignRequest struct {
	Image       string
	KeyPath     string
	Prompt      Prompt
	Format      string
	Annotations []string
	Options     Options
}

// RunSign checks r's inputs (naming the flag of a bad one), loads the
// key, signs and prints where the signature went on out (JSON with
// asJSON).
func RunSign(ctx context.Context, r SignRequest, out io.Writer, asJSON bool) error {
	if r.KeyPath == "" {
		return fmt.Errorf("--key is required (a cosign private key; berth key generate makes one)")
	}
	f, err := ParseFormat(r.Format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	ann, err := ParseAnnotations(r.Annotations)
	if err != nil {
		return fmt.Errorf("-a: %w", err)
	}
	k, err := r.Prompt.PrivateKey(r.KeyPath)
	if err != nil {
		return err
	}
	res, err := Sign(ctx, r.Image, k, SignOptions{Options: r.Options, Format: f, Annotations: ann})
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(out, res)
	}
	WriteSignText(out, res)
	return nil
}

// VerifyRequest is one `berth verify`: the image, the public key files,
// the KEY=VALUE annotations a signature must carry and, with Attestations
// (or a PredicateType: a URI or cosign's name), the signed attestations
// instead of the signatures.
type VerifyRequest struct {
	Image         string
	KeyPaths      []string
	Annotations   []string
	Attestations  bool
	PredicateType string
	Options       Options
}

// RunVerify checks r's inputs, verifies and reports on out, as JSON with
// asJSON (also the refusals when nothing verified), else as text with
// OfflineNote on log.
func RunVerify(ctx context.Context, r VerifyRequest, out, log io.Writer, asJSON bool) error {
	if len(r.KeyPaths) == 0 {
		return fmt.Errorf("--key is required (a public key, e.g. cosign.pub)")
	}
	keys, err := LoadPublicKeys(r.KeyPaths)
	if err != nil {
		return err
	}
	ann, err := ParseAnnotations(r.Annotations)
	if err != nil {
		return fmt.Errorf("-a: %w", err)
	}
	if r.Attestations || r.PredicateType != "" {
		atts, err := VerifyAttestations(ctx, r.Image, keys, PredicateTypeFromName(r.PredicateType), r.Options)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(out, atts)
		}
		WriteAttestationsText(out, atts)
		fmt.Fprintln(log, OfflineNote)
		return nil
	}
	res, err := Verify(ctx, r.Image, keys, VerifyOptions{Options: r.Options, Annotations: ann})
	var nv *NotVerifiedError
	if errors.As(err, &nv) && asJSON {
		_ = writeJSON(out, res)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(out, res)
	}
	WriteVerifyText(out, res)
	fmt.Fprintln(log, OfflineNote)
	return nil
}

// GenerateKeyPair is `berth key generate`: existing files are refused
// (unless force) before the password is asked (twice on a terminal),
// then PREFIX.key and PREFIX.pub are written.
func GenerateKeyPair(prefix string, prompt Prompt, force bool) (KeyPair, error) {
	if !force {
		if err := RefuseExisting(prefix); err != nil {
			return KeyPair{}, err
		}
	}
	keyPath, _ := KeyPairPaths(prefix)
	pw, err := prompt.Password(keyPath, true)
	if err != nil {
		return KeyPair{}, err
	}
	defer clear(pw)
	var kp KeyPair
	kp.PrivateKey, kp.PublicKey, err = WriteKeyPair(prefix, pw, force)
	return kp, err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
