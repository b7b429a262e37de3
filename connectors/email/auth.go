package email

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"github.com/emersion/go-sasl"
)

// XOAUTH2 is the SASL mechanism of Gmail and Microsoft 365
// (https://developers.google.com/gmail/imap/xoauth2-protocol). go-sasl
// dropped its XOAUTH2 client (it has OAUTHBEARER, RFC 7628, which is used
// for oauth2_mechanism: oauthbearer), so this is the few lines it takes.
const XOAUTH2 = "XOAUTH2"

type xoauth2Client struct {
	user, token string
	// status is the error status the server sent as its challenge.
	status string
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return XOAUTH2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with the
// empty response the protocol asks for; the server then fails the command.
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	var e struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(challenge, &e) == nil {
		c.status = e.Status
	}
	return []byte{}, nil
}

// oauth2Client builds the SASL client of one login with the token read
// from the file now, so a rotated token is picked up at the next login.
func oauth2Client(c Conn, user, addr string) (sasl.Client, error) {
	tok, err := readToken(c.OAuth2TokenFile)
	if err != nil {
		return nil, fmt.Errorf("oauth2 token: %w", err)
	}
	if c.OAuth2Mechanism == MechOAUTHBEARER {
		host, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: tok, Host: host, Port: port}), nil
	}
	return &xoauth2Client{user: user, token: tok}, nil
}

// authDetail adds what an XOAUTH2 server said about the token to a
// failed login.
func authDetail(cl sasl.Client, err error) error {
	if x, ok := cl.(*xoauth2Client); ok && x.status != "" {
		return fmt.Errorf("%w (token status %s)", err, x.status)
	}
	return err
}
