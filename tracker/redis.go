package tracker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig says how to reach Redis and what to hold there.
type RedisConfig struct {
	// URL is a redis:// URL, as accepted by redis.ParseURL.
	URL string
	// Prefix namespaces the keys, so trackers for different purposes (or
	// tests) can share a server.
	Prefix string
	// MaxTorrents and MaxPeersPerTorrent cap what is held, as in the
	// memory store: at a cap the store evicts (a small, idle swarm; a
	// full swarm's oldest peer) instead of refusing the newcomer. 0 takes
	// the memory store's defaults.
	MaxTorrents        int
	MaxPeersPerTorrent int
	// Logger hears of failed evictions (the announce is served anyway).
	Logger *slog.Logger
}

// RedisStore keeps swarms in Redis so several tracker processes behind a
// load balancer serve the same swarms with the same counts. Each announce
// is one Lua script: expire, update, count and pick peers atomically, in
// one round trip.
type RedisStore struct {
	cfg RedisConfig
	rdb *redis.Client
	// evictedSwarms and evictedPeers count this process's evictions.
	evictedSwarms, evictedPeers atomic.Int64
}

// NewRedisStore connects and checks that the server answers.
func NewRedisStore(ctx context.Context, cfg RedisConfig) (*RedisStore, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "shoal"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxTorrents <= 0 {
		cfg.MaxTorrents = DefaultMemoryConfig().MaxTorrents
	}
	if cfg.MaxPeersPerTorrent <= 0 {
		cfg.MaxPeersPerTorrent = DefaultMemoryConfig().MaxPeersPerTorrent
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", opt.Addr, err)
	}
	return &RedisStore{cfg: cfg, rdb: rdb}, nil
}

// RandomPrefix returns a fresh key prefix, for tests that share a server.
func RandomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "shoaltest:" + hex.EncodeToString(b[:])
}

func (s *RedisStore) key(parts ...string) string {
	return s.cfg.Prefix + ":" + strings.Join(parts, ":")
}

// announceScript keys: seeds zset, leechers zset, addrs hash, downloaded
// counter, swarm index zset, global counters hash. Scores are expiry
// times in milliseconds. The reply is the counts, a flags field (1: a
// peer was evicted to make room, 2: the swarm index is over its cap) and
// the picked peers.
var announceScript = redis.NewScript(`
local now, exp = tonumber(ARGV[5]), tonumber(ARGV[6])
local id, addr, seed, event = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local numwant, maxpeers = tonumber(ARGV[7]), tonumber(ARGV[8])
local maxswarms = tonumber(ARGV[10])
local flags = 0
local function expire(k, counter)
  local gone = redis.call('ZRANGEBYSCORE', k, '-inf', now)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
    redis.call('HDEL', KEYS[3], unpack(gone))
    redis.call('HINCRBY', KEYS[6], counter, -#gone)
  end
end
expire(KEYS[1], 'seeders')
expire(KEYS[2], 'leechers')
local wasSeed = redis.call('ZREM', KEYS[1], id) == 1
local wasLeech = redis.call('ZREM', KEYS[2], id) == 1
if wasSeed then redis.call('HINCRBY', KEYS[6], 'seeders', -1) end
if wasLeech then redis.call('HINCRBY', KEYS[6], 'leechers', -1) end
local known = wasSeed or wasLeech
if event == 3 then
  redis.call('HDEL', KEYS[3], id)
else
  if not known and redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= maxpeers then
    -- Full: the peer whose announce is oldest makes room.
    local a = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local b = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    local k, m, counter = KEYS[1], a[1], 'seeders'
    if #a == 0 or (#b > 0 and tonumber(b[2]) < tonumber(a[2])) then k, m, counter = KEYS[2], b[1], 'leechers' end
    redis.call('ZREM', k, m)
    redis.call('HDEL', KEYS[3], m)
    redis.call('HINCRBY', KEYS[6], counter, -1)
    flags = 1
  end
  if seed then
    redis.call('ZADD', KEYS[1], exp, id)
    redis.call('HINCRBY', KEYS[6], 'seeders', 1)
  else
    redis.call('ZADD', KEYS[2], exp, id)
    redis.call('HINCRBY', KEYS[6], 'leechers', 1)
  end
  redis.call('HSET', KEYS[3], id, addr)
  if redis.call('ZADD', KEYS[5], exp, ARGV[9]) == 1 and redis.call('ZCARD', KEYS[5]) > maxswarms then
    flags = flags + 2
  end
  if event == 1 and known and not wasSeed and seed then redis.call('INCR', KEYS[4]) end
end
local ns, nl = redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2])
local dl = tonumber(redis.call('GET', KEYS[4]) or '0')
local out = {ns, nl, dl, flags}
if numwant > 0 and event ~= 3 then
  local groups = {KEYS[1], KEYS[2]}
  if seed then groups = {KEYS[2]} end
  local picked = {}
  for _, k in ipairs(groups) do
    if #picked < numwant then
      for _, m in ipairs(redis.call('ZRANDMEMBER', k, numwant + 1)) do
        if m ~= id and #picked < numwant then table.insert(picked, m) end
      end
    end
  end
  if #picked > 0 then
    local addrs = redis.call('HMGET', KEYS[3], unpack(picked))
    for i, m in ipairs(picked) do
      if addrs[i] then
        local isSeed = redis.call('ZSCORE', KEYS[1], m) and '1' or '0'
        table.insert(out, m)
        table.insert(out, addrs[i])
        table.insert(out, isSeed)
      end
    end
  end
end
return out
`)

func (s *RedisStore) swarmKeys(ih InfoHash, fam uint8) []string {
	h := hex.EncodeToString(ih[:])
	f := fmt.Sprint(fam)
	return []string{s.key(h, f, "s"), s.key(h, f, "l"), s.key(h, f, "a"), s.key(h, "d"), s.key("swarms"), s.key("totals")}
}

// Announce implements PeerStore.
func (s *RedisStore) Announce(ctx context.Context, req *AnnounceRequest) (AnnounceResponse, error) {
	fam := family(req.Peer.Addr)
	addr, _ := req.Peer.Addr.MarshalBinary()
	seed := "0"
	if req.Peer.Seed {
		seed = "1"
	}
	member := hex.EncodeToString(req.InfoHash[:]) + ":" + fmt.Sprint(fam)
	res, err := announceScript.Run(ctx, s.rdb, s.swarmKeys(req.InfoHash, fam),
		string(req.Peer.ID[:]), string(addr), seed, int(req.Event), req.Now.UnixMilli(), req.Now.Add(req.TTL).UnixMilli(),
		req.NumWant, s.cfg.MaxPeersPerTorrent, member, s.cfg.MaxTorrents).Slice()
	if err != nil {
		return AnnounceResponse{}, fmt.Errorf("redis announce: %w", err)
	}
	if len(res) < 4 {
		return AnnounceResponse{}, errors.New("redis announce: short reply")
	}
	out := AnnounceResponse{Seeders: toInt(res[0]), Leechers: toInt(res[1]), Downloaded: toInt(res[2])}
	flags := toInt(res[3])
	if flags&1 != 0 {
		s.evictedPeers.Add(1)
	}
	if flags&2 != 0 {
		// The announce is served either way; the next new swarm over the
		// cap tries again.
		if err := s.evictSwarm(ctx, member, req.TTL, req.Now); err != nil {
			s.cfg.Logger.Warn("redis: evicting a swarm over the cap failed", "err", err)
		}
	}
	for i := 4; i+2 < len(res); i += 3 {
		id, _ := res[i].(string)
		a, _ := res[i+1].(string)
		var p Peer
		copy(p.ID[:], id)
		if p.Addr.UnmarshalBinary([]byte(a)) != nil {
			continue
		}
		p.Seed = res[i+2] == "1"
		out.Peers = append(out.Peers, p)
	}
	return out, nil
}

// evictCandidatesScript lists the idlest swarms of the index (KEYS[1])
// but ARGV[3]: member, score, live peers and completed downloads of each.
var evictCandidatesScript = redis.NewScript(`
local prefix, n, keep = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
local idle = redis.call('ZRANGE', KEYS[1], 0, n, 'WITHSCORES')
for i = 1, #idle, 2 do
  local sw = idle[i]
  if sw ~= keep then
    local ih, fam = string.match(sw, '([^:]+):(%d)')
    local base = prefix .. ':' .. ih .. ':' .. fam
    local peers = redis.call('ZCARD', base .. ':s') + redis.call('ZCARD', base .. ':l')
    local dl = tonumber(redis.call('GET', prefix .. ':' .. ih .. ':d') or '0')
    table.insert(out, sw)
    table.insert(out, idle[i + 1])
    table.insert(out, peers)
    table.insert(out, dl)
  end
end
return out
`)

// evictScript drops swarm ARGV[2] unless it was announced to since its
// score ARGV[3] was read (then another process or client got there
// first, and it stays).
var evictScript = redis.NewScript(`
local prefix, sw, seen = ARGV[1], ARGV[2], ARGV[3]
if redis.call('ZSCORE', KEYS[1], sw) ~= seen then return 0 end
local ih, fam = string.match(sw, '([^:]+):(%d)')
local base = prefix .. ':' .. ih .. ':' .. fam
redis.call('HINCRBY', KEYS[2], 'seeders', 0 - redis.call('ZCARD', base .. ':s'))
redis.call('HINCRBY', KEYS[2], 'leechers', 0 - redis.call('ZCARD', base .. ':l'))
redis.call('DEL', base .. ':s', base .. ':l', base .. ':a')
redis.call('ZREM', KEYS[1], sw)
return 1
`)

// evictSwarm makes room in a swarm index over its cap: evictionVictim,
// the memory store's policy, picks among the idlest swarms but keep (the
// newcomer). Two round trips, paid only by a new swarm at the cap.
func (s *RedisStore) evictSwarm(ctx context.Context, keep string, ttl time.Duration, now time.Time) error {
	res, err := evictCandidatesScript.Run(ctx, s.rdb, []string{s.key("swarms")}, s.cfg.Prefix, evictSample, keep).Slice()
	if err != nil {
		return err
	}
	var members, scores []string
	var infos []swarmInfo
	for i := 0; i+3 < len(res); i += 4 {
		m, _ := res[i].(string)
		sc, _ := res[i+1].(string)
		var ms int64
		fmt.Sscan(sc, &ms)
		members, scores = append(members, m), append(scores, sc)
		infos = append(infos, swarmInfo{peers: toInt(res[i+2]), downloaded: toInt(res[i+3]), last: time.UnixMilli(ms).Add(-ttl)})
	}
	if len(infos) == 0 {
		return nil
	}
	v := evictionVictim(infos, now)
	n, err := evictScript.Run(ctx, s.rdb, []string{s.key("swarms"), s.key("totals")}, s.cfg.Prefix, members[v], scores[v]).Int()
	if err != nil {
		return err
	}
	s.evictedSwarms.Add(int64(n))
	return nil
}

// Evictions implements EvictionCounter, for this process.
func (s *RedisStore) Evictions() Evictions {
	return Evictions{Swarms: s.evictedSwarms.Load(), Peers: s.evictedPeers.Load()}
}

func toInt(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case string:
		var n int
		fmt.Sscan(x, &n)
		return n
	}
	return 0
}

var scrapeScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 3 do
  local s, l = 0, 0
  for _, fam in ipairs({'4', '6'}) do
    local sk, lk = KEYS[i] .. fam .. ':s', KEYS[i] .. fam .. ':l'
    s = s + redis.call('ZCOUNT', sk, '(' .. now, '+inf')
    l = l + redis.call('ZCOUNT', lk, '(' .. now, '+inf')
  end
  local dl = tonumber(redis.call('GET', KEYS[i+2]) or '0')
  table.insert(out, s)
  table.insert(out, l)
  table.insert(out, dl)
end
return out
`)

// Scrape implements PeerStore. Expired peers are not counted (they are
// removed on the swarm's next announce or sweep).
func (s *RedisStore) Scrape(ctx context.Context, hashes []InfoHash, now time.Time) ([]Scrape, error) {
	if len(hashes) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 3*len(hashes))
	for _, ih := range hashes {
		h := hex.EncodeToString(ih[:])
		// The script appends the family and the list suffix.
		keys = append(keys, s.key(h)+":", s.key(h)+":", s.key(h, "d"))
	}
	res, err := scrapeScript.Run(ctx, s.rdb, keys, now.UnixMilli()).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis scrape: %w", err)
	}
	out := make([]Scrape, len(hashes))
	for i := range out {
		out[i] = Scrape{Seeders: int(res[3*i]), Leechers: int(res[3*i+1]), Downloaded: int(res[3*i+2])}
	}
	return out, nil
}

// Totals implements PeerStore, counting swarms with a live peer.
func (s *RedisStore) Totals(ctx context.Context, now time.Time) (Totals, error) {
	n, err := s.rdb.ZCount(ctx, s.key("swarms"), fmt.Sprintf("(%d", now.UnixMilli()), "+inf").Result()
	if err != nil {
		return Totals{}, fmt.Errorf("redis totals: %w", err)
	}
	m, err := s.rdb.HGetAll(ctx, s.key("totals")).Result()
	if err != nil {
		return Totals{}, fmt.Errorf("redis totals: %w", err)
	}
	return Totals{Torrents: int(n), Seeders: toInt(m["seeders"]), Leechers: toInt(m["leechers"])}, nil
}

var sweepScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local prefix = ARGV[2]
local swarms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, sw in ipairs(swarms) do
  local ih, fam = string.match(sw, '([^:]+):(%d)')
  local base = prefix .. ':' .. ih .. ':' .. fam
  local ns = redis.call('ZCARD', base .. ':s')
  local nl = redis.call('ZCARD', base .. ':l')
  redis.call('HINCRBY', KEYS[2], 'seeders', 0 - ns) -- not -ns: Lua's -0 is no integer to HINCRBY
  redis.call('HINCRBY', KEYS[2], 'leechers', 0 - nl)
  redis.call('DEL', base .. ':s', base .. ':l', base .. ':a')
  redis.call('ZREM', KEYS[1], sw)
end
return #swarms
`)

// Sweep drops swarms whose every peer has expired, keeping the totals
// exact for swarms nobody announces to any more.
func (s *RedisStore) Sweep(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sweepScript.Run(ctx, s.rdb, []string{s.key("swarms"), s.key("totals")}, now.UnixMilli(), s.cfg.Prefix)
}

// Close implements PeerStore.
func (s *RedisStore) Close() error { return s.rdb.Close() }
