package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// demoCmd runs `switchboard demo seed [--config FILE] [--customers N]`: it
// fills the configured store with believable customers (Finnish and
// international names, e-mail addresses and phone numbers) writing on the
// configured channels, as the channels' own messages would arrive (the
// router's ingest, in process), and leaves their conversations in every
// state, assigned to the config's agents, labelled. Agents' replies are
// stored as delivered and never sent. With the embedded store, run it
// before `switchboard serve` (the store is one process's); with Redis, at
// any time.
func demoCmd(args []string, w io.Writer) error {
	if len(args) == 0 || args[0] != "seed" {
		return usageError("demo needs a subcommand: seed")
	}
	fs := newFlagSet("demo seed")
	cfgPath := fs.String("config", "", "config file (default $SWITCHBOARD_CONFIG)")
	n := fs.Int("customers", 24, "how many customers")
	seed := fs.Uint64("seed", 19, "random seed (the same seed gives the same people)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("demo seed: " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("demo seed takes no arguments")
	}
	if *n < 1 || *n > 10000 {
		return usageError("demo seed: --customers must be 1..10000")
	}
	cfg, err := checkConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStore(cfg, log)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	ix, closeIx, err := openSearch(cfg, st)
	if err != nil {
		return err
	}
	defer closeIx()
	ctx := context.Background()
	clock := store.SystemClock
	dir := directory.New(st, routerChannels(cfg), clock, log)
	if err := dir.Refresh(ctx); err != nil {
		return fmt.Errorf("load channel phases: %w", err)
	}
	d := &demo{cfg: cfg, st: st, rnd: rand.New(rand.NewPCG(*seed, 7)), now: clock().UTC(),
		in:    newIngest(cfg, st, dir, clock, nil), // serve.go: the one Ingest constructor
		convs: timeline.NewService(st, timeline.Options{Clock: clock, Logger: log, Index: search.Indexer{Index: ix}})}
	d.rt = router.New(st, dir, router.Options{Clock: clock, Logger: log, Conversations: d.convs})
	d.out = router.NewOutbound(st, dir, clock, log, nil, d.convs)
	for _, c := range cfg.Channels {
		if ch, ok := dir.Get(c.Name); ok && ch.Phase != store.PhaseOff && demoReach[c.Type] != "" {
			d.channels = append(d.channels, c)
		}
	}
	if len(d.channels) == 0 {
		return fmt.Errorf("demo seed: the config has no channel to seed (an api, email, sms, webform or slack channel that is not off)")
	}
	for _, a := range cfg.Agents {
		d.agents = append(d.agents, a.Name)
	}
	cat := labels.New(st)
	for _, l := range demoLabels {
		if err := cat.PutLabel(ctx, l, "demo"); err != nil {
			return fmt.Errorf("demo seed: label %s: %w", l.Name, err)
		}
	}
	convs := 0
	for i := range *n {
		k, err := d.customer(ctx, i)
		if err != nil {
			return fmt.Errorf("demo seed: customer %d: %w", i+1, err)
		}
		convs += k
	}
	fmt.Fprintf(w, "seeded %d customers, %d conversations on %d channel(s)\n", *n, convs, len(d.channels))
	return nil
}

// demoReach is the identity a channel type's messages come from.
var demoReach = map[string]string{
	config.TypeAPI: connectors.Email, config.TypeEmail: connectors.Email, config.TypeWebform: connectors.Email,
	config.TypeSMS: connectors.Phone, config.TypeSlack: connectors.Slack,
}

var demoLabels = []labels.Label{
	{Name: "billing", Color: "#b45309", Description: "Invoices, payments and refunds"},
	{Name: "delivery", Color: "#2563eb", Description: "Parcels and delivery slots"},
	{Name: "returns", Color: "#7c3aed", Description: "Returns and exchanges"},
	{Name: "vip", Color: "#15803d", Description: "Customers with a service contract"},
}

var (
	demoFirst = []string{"Aino", "Eetu", "Helmi", "Juho", "Kaisa", "Lauri", "Mervi", "Onni", "Riikka", "Sampsa", "Tuuli", "Ville",
		"Sofia", "Liam", "Amara", "Mateo", "Priya", "Lukas", "Chen", "Fatima", "Oskar", "Ingrid", "Yusuf", "Elena"}
	demoLast = []string{"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen",
		"García", "Okafor", "Lindqvist", "Schmidt", "Nakamura", "Rossi", "Patel", "Dubois", "Novak", "Andersen"}
	demoDomains = []string{"example.com", "example.fi", "example.org", "example.net"}
	demoPhones  = []string{"+358 40 %03d %04d", "+358 50 %03d %04d", "+358 44 %03d %04d", "+46 70 %03d %04d", "+49 151 %03d %04d"}
	demoTopics  = []struct{ subject, text, label, note string }{
		{"Parcel not arrived", "Hi, my order 48213 was supposed to arrive on Tuesday but the tracking has not moved since Monday. Can you check?", "delivery",
			"Asked the courier: the parcel is at the depot, delivery tomorrow. Told the customer."},
		{"Double charge", "I was charged twice for invoice 2024-1187. Could you refund the second payment?", "billing",
			"Refund of the second payment approved; it shows on the card in 3-5 days."},
		{"Return a jacket", "The jacket I ordered is one size too small. How do I return it and get the right size?", "returns",
			"Sent a prepaid return label; the exchange ships when the parcel arrives."},
		{"Change delivery slot", "Could you move my delivery to Friday afternoon? I am away on Thursday.", "delivery",
			"Moved the delivery to Friday 12-16 in the courier's portal."},
		{"Laskun eräpäivä", "Hei! Voisinko saada lisäaikaa laskun 55120 maksamiseen? Eräpäivä on huomenna.", "billing",
			"Eräpäivää siirretty kahdella viikolla, asiakkaalle vahvistettu."},
		{"Paketti hukassa", "Tilaukseni 77341 piti tulla Postiin eilen, mutta seurantakoodi ei löydy. Mitä teen?", "delivery",
			"Seurantakoodi oli väärin; oikea lähetetty asiakkaalle."},
		{"Vaihto", "Kengät ovat liian pienet, voinko vaihtaa ne numeroa isompiin?", "returns",
			"Vaihto sovittu, palautuslappu lähetetty sähköpostilla."},
		{"Contract renewal", "Our service contract ends next month. Can we renew it with the same terms?", "vip",
			"Renewal offer sent with the same terms; waiting for their signature."},
		{"Wrong item", "I received a blue kettle instead of the black one I ordered.", "returns",
			"The black kettle ships today; the customer keeps the blue one."},
		{"Address update", "Please update my billing address to Hämeenkatu 12 B 7, 33100 Tampere.", "billing",
			"Billing address updated in the ERP."},
	}
)

type demo struct {
	cfg      *config.Config
	st       store.Store
	rnd      *rand.Rand
	now      time.Time
	in       *router.Ingest
	rt       *router.Router
	out      *router.Outbound
	convs    *timeline.Service
	channels []config.Channel
	agents   []string
}

// customer seeds customer i: one or two conversations on channels that can
// reach them; returns how many conversations it started.
func (d *demo) customer(ctx context.Context, i int) (int, error) {
	first, last := demoFirst[i%len(demoFirst)], demoLast[(i*7+i/len(demoFirst))%len(demoLast)]
	name := first + " " + last
	local := strings.ToLower(asciiFold(first) + "." + asciiFold(last))
	if i >= len(demoFirst) {
		local += fmt.Sprint(i / len(demoFirst))
	}
	email := local + "@" + demoDomains[i%len(demoDomains)]
	phone := fmt.Sprintf(demoPhones[i%len(demoPhones)], 100+d.rnd.IntN(900), d.rnd.IntN(10000))
	slack := fmt.Sprintf("U0%07X", 0x1A2B3C+i*977)
	started := 0
	for k := range 1 + i%2 {
		ch := d.channels[(i+k*3)%len(d.channels)]
		topic := demoTopics[(i+k)%len(demoTopics)]
		ago := time.Duration(5+d.rnd.IntN(60*24*3)) * time.Minute
		at := d.now.Add(-ago)
		m := connectors.Message{Channel: ch.Name, ProviderID: fmt.Sprintf("demo-%d-%d-%d", i, k, at.Unix()), SenderName: name,
			Text: topic.text, OccurredAt: at, ReceivedAt: at}
		switch demoReach[ch.Type] {
		case connectors.Email:
			m.Identities = []connectors.Identity{{Type: connectors.Email, Value: email, Verified: ch.Trusted}}
			if ch.Type == config.TypeAPI {
				m.Identities = append(m.Identities, connectors.Identity{Type: connectors.Phone, Value: phone, Verified: ch.Trusted})
			}
			if ch.Type != config.TypeWebform {
				m.Subject = topic.subject
			}
		case connectors.Phone:
			m.Identities = []connectors.Identity{{Type: connectors.Phone, Value: phone, Verified: true}}
		case connectors.Slack:
			m.Identities = []connectors.Identity{{Type: connectors.Slack, Value: slack, Verified: true}}
		}
		m, err := d.in.Prepare(m)
		if err != nil {
			return started, err
		}
		m.ID = connectors.MessageID(m.Channel, m.ProviderID)
		if err := d.rt.Process(ctx, m); err != nil {
			return started, err
		}
		e, err := d.st.GetEntry(ctx, m.ID)
		if err != nil {
			return started, err
		}
		if e.ConversationID == "" {
			continue // a shadow channel's message: on the timeline, in no conversation
		}
		started++
		if err := d.arrange(ctx, e, topic.label, topic.note, i+k); err != nil {
			return started, err
		}
	}
	return started, nil
}

// arrange gives conversation of e a state: j picks it, so a seeded hub has
// every status, assigned and unassigned work, labels and agents' replies.
func (d *demo) arrange(ctx context.Context, e store.Entry, label, note string, j int) error {
	ch := timeline.Change{AddLabels: []string{label}}
	if j%5 == 0 && label != "vip" {
		ch.AddLabels = append(ch.AddLabels, "vip")
	}
	if len(d.agents) > 0 && j%3 != 0 {
		a := d.agents[j%len(d.agents)]
		ch.Assignee = &a
	} else {
		none := ""
		ch.Assignee = &none
	}
	if _, err := d.convs.Update(ctx, e.ConversationID, ch, "demo"); err != nil {
		return err
	}
	switch j % 6 {
	case 1, 4: // answered: waiting for the customer
		if err := d.answered(ctx, e, note); err != nil {
			return err
		}
	case 2: // snoozed until tomorrow morning
		until := time.Date(d.now.Year(), d.now.Month(), d.now.Day()+1, 9, 0, 0, 0, time.UTC)
		if _, err := d.convs.Snooze(ctx, e.ConversationID, until, "demo"); err != nil {
			return err
		}
	case 5: // answered and resolved
		if err := d.answered(ctx, e, note); err != nil {
			return err
		}
		if _, err := d.convs.Resolve(ctx, e.ConversationID, "demo"); err != nil {
			return err
		}
	}
	return nil
}

// answered leaves an agent's note on e's conversation and sets it
// pending (waiting for the customer). A demo never sends: replies would
// go out through the channels when the hub runs, so the answer is a note.
func (d *demo) answered(ctx context.Context, in store.Entry, text string) error {
	conv, err := d.st.GetConversation(ctx, in.ConversationID)
	if err != nil {
		return err
	}
	agent := conv.Assignee
	if agent == "" && len(d.agents) > 0 {
		agent = d.agents[0]
	}
	if agent == "" {
		agent = "demo"
	}
	if _, err := d.out.Note(ctx, in.ConversationID, agent, text); err != nil {
		return err
	}
	_, err = d.convs.SetStatus(ctx, in.ConversationID, store.StatusPending, agent)
	return err
}

// asciiFold turns a name into what an e-mail address would use.
func asciiFold(s string) string {
	return strings.NewReplacer("ä", "a", "ö", "o", "å", "a", "Ä", "a", "Ö", "o", "í", "i", "é", "e", "á", "a", "ü", "u").Replace(s)
}
