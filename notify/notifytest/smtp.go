package notifytest

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message an [SMTPServer] accepted.
type Mail struct {
	From string
	To   []string
	Data string // as sent, dot-unstuffed, with CRLF line ends
	TLS  bool   // whether it came over STARTTLS
	User string // the AUTH PLAIN user, if any
	Pass string // and password
}

// SMTPServer is a small SMTP server on 127.0.0.1 for tests. It offers
// STARTTLS when given a TLS config, and AUTH PLAIN once TLS is on. It is
// safe for concurrent use.
type SMTPServer struct {
	Host string // "127.0.0.1"
	Port int

	tls *tls.Config
	ln  net.Listener
	wg  sync.WaitGroup

	mu       sync.Mutex
	mails    []Mail
	failData int // DATA answers 451 this many more times
	arrived  chan struct{}
}

// NewSMTPServer starts a server; tlsConf nil offers no STARTTLS. It stops in
// t.Cleanup.
func NewSMTPServer(t testing.TB, tlsConf *tls.Config) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, tls: tlsConf, ln: ln, arrived: make(chan struct{}, 1)}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// FailData makes the next n DATA commands end with 451 (a temporary
// failure) instead of accepting the message.
func (s *SMTPServer) FailData(n int) {
	s.mu.Lock()
	s.failData = n
	s.mu.Unlock()
}

// Mails returns the messages accepted so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitMails waits until at least n messages were accepted, or fails t after
// timeout, and returns them.
func (s *SMTPServer) WaitMails(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := s.Mails(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("smtp server: %d mails after %s, want %d", len(s.Mails()), timeout, n)
		}
	}
}

func (s *SMTPServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute))
			s.session(conn)
		})
	}
}

func (s *SMTPServer) session(conn net.Conn) {
	tp := textproto.NewConn(conn)
	reply := func(code int, lines ...string) bool {
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			if err := tp.PrintfLine("%d%s%s", code, sep, l); err != nil {
				return false
			}
		}
		return true
	}
	if !reply(220, "127.0.0.1 ESMTP notifytest") {
		return
	}
	var (
		m     Mail
		tlsOn bool
	)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"127.0.0.1 greets " + arg, "8BITMIME"}
			if s.tls != nil && !tlsOn {
				ext = append(ext, "STARTTLS")
			}
			if tlsOn {
				ext = append(ext, "AUTH PLAIN")
			}
			reply(250, ext...)
		case "STARTTLS":
			if s.tls == nil || tlsOn {
				reply(502, "no STARTTLS here")
				continue
			}
			reply(220, "go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, tlsOn, m = tc, true, Mail{}
			tp = textproto.NewConn(tc)
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !tlsOn || !strings.EqualFold(mech, "PLAIN") {
				reply(504, "AUTH PLAIN over TLS only")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 {
				reply(501, "bad AUTH PLAIN response")
				continue
			}
			m.User, m.Pass = parts[1], parts[2]
			reply(235, "ok")
		case "MAIL":
			m.From = addrArg(arg, "FROM:")
			m.To = nil
			reply(250, "ok")
		case "RCPT":
			m.To = append(m.To, addrArg(arg, "TO:"))
			reply(250, "ok")
		case "DATA":
			if m.From == "" || len(m.To) == 0 {
				reply(503, "MAIL and RCPT first")
				continue
			}
			reply(354, "end with .")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.mu.Lock()
			fail := s.failData > 0
			if fail {
				s.failData--
			} else {
				m.Data, m.TLS = strings.ReplaceAll(string(data), "\n", "\r\n"), tlsOn
				s.mails = append(s.mails, m)
			}
			s.mu.Unlock()
			if fail {
				reply(451, "try again later")
			} else {
				reply(250, "queued as "+strconv.Itoa(len(s.Mails())))
				select {
				case s.arrived <- struct{}{}:
				default:
				}
			}
			m = Mail{User: m.User, Pass: m.Pass}
		case "RSET":
			m = Mail{User: m.User, Pass: m.Pass}
			reply(250, "ok")
		case "NOOP":
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "unknown command")
		}
	}
}

// addrArg takes the address out of "FROM:<a@b> SIZE=1".
func addrArg(arg, prefix string) string {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	arg, _, _ = strings.Cut(strings.TrimSpace(arg), " ")
	return strings.Trim(arg, "<>")
}
