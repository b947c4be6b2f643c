/* stats_export.c - `mcmirror stats` as JSON (--json) and as Prometheus metrics (--prometheus). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "stats.h"

/* --- JSON (schema: docs/mcmirror.1, JSON OUTPUT) -------------------------- */

static void json_named(struct mcm_json *j, const char *key, const char *name, uint32_t code)
{
	char code_key[48];

	mcm_json_str(j, key, name); /* null for a number libmemcached does not name */
	snprintf(code_key, sizeof code_key, "%s_code", key);
	mcm_json_u64(j, code_key, code);
}

static void json_pool(struct mcm_json *j, const struct pool_stats *ps)
{
	const struct mcm_pool *p = &ps->pool;
	char id[17];

	mcm_dumpfmt_pool_id(p->id, id);
	mcm_json_object(j, NULL);
	mcm_json_str(j, "id", id);
	mcm_json_bool(j, "known", ps->known);
	mcm_json_str(j, "servers", ps->known ? p->servers : NULL);
	mcm_json_u64(j, "server_count", ps->servers);
	json_named(j, "distribution", ps->known ? mcm_dumpfmt_distribution_name(p->distribution) : NULL,
		   p->distribution);
	json_named(j, "key_hash", ps->known ? mcm_dumpfmt_hash_name(p->key_hash) : NULL, p->key_hash);
	json_named(j, "dist_hash", ps->known ? mcm_dumpfmt_hash_name(p->dist_hash) : NULL, p->dist_hash);
	mcm_json_bool(j, "hash_with_namespace", p->hash_with_namespace);
	mcm_json_time(j, "created", (int64_t)(p->created_us / 1000000u));
	mcm_json_u64(j, "live_items", ps->count[MCM_DUMP_LIVE]);
	mcm_json_u64(j, "live_value_bytes", ps->live_bytes);
	mcm_json_u64(j, "deleted", ps->count[MCM_DUMP_DELETED]);
	mcm_json_u64(j, "dropped", ps->count[MCM_DUMP_DROPPED]);
	mcm_json_u64(j, "expired", ps->count[MCM_DUMP_EXPIRED]);
	mcm_json_u64(j, "flushed", ps->count[MCM_DUMP_FLUSHED]);
	mcm_json_time(j, "oldest_live_write", (int64_t)(ps->oldest_us / 1000000u));
	mcm_json_time(j, "newest_live_write", (int64_t)(ps->newest_us / 1000000u));
	if (p->flush_seq)
		mcm_json_u64(j, "flush_seq", p->flush_seq);
	else
		mcm_json_null(j, "flush_seq");
	mcm_json_time(j, "flush_time", p->flush_time);
	mcm_json_bool(j, "encrypted", p->encrypted);
	mcm_json_bool(j, "sasl", p->sasl);
	if (ps->limit_state == 1) {
		mcm_json_u64(j, "servers_limit_bytes", ps->limit_bytes);
		mcm_json_bool(j, "over_capacity", ps->over_capacity);
	}
	if (ps->servers) {
		mcm_json_u64(j, "items_per_server", ps->items_per_server);
		mcm_json_u64(j, "hashpower", ps->hashpower);
	} else {
		mcm_json_null(j, "items_per_server");
		mcm_json_null(j, "hashpower");
	}
	mcm_json_close_object(j);
}

void mcm_stats_json(const struct stats *s, FILE *out)
{
	struct mcm_json j;

	mcm_json_begin(&j, out);
	mcm_json_str(&j, "schema", "mcmirror-stats");
	mcm_json_u64(&j, "version", MCM_STATS_JSON_VERSION);
	mcm_json_time(&j, "time", s->now);
	mcm_json_object(&j, "mirror");
	mcm_json_str(&j, "path", s->path);
	mcm_json_u64(&j, "format_version", s->info.format_version);
	mcm_json_time(&j, "created", (int64_t)(s->info.created_us / 1000000u));
	mcm_json_u64(&j, "map_size", s->info.map_size);
	mcm_json_u64(&j, "used_bytes", s->info.used_bytes);
	mcm_json_u64(&j, "entries", s->info.entries);
	mcm_json_u64(&j, "index_entries", s->info.seq_entries);
	mcm_json_u64(&j, "last_seq", s->info.last_seq);
	mcm_json_u64(&j, "pools", s->all_pools);
	mcm_json_bool(&j, "lock_table", !s->unlocked);
	mcm_json_str(&j, "lock_table_note", s->unlocked);
	mcm_json_close_object(&j);
	mcm_json_object(&j, "counters");
	mcm_json_bool(&j, "present", s->counters_state == 0);
	for (int i = 0; i < MCM_CTR_COUNT; i++)
		mcm_json_u64(&j, mcm_counter_names[i], s->counters[i]);
	mcm_json_close_object(&j);
	mcm_json_object(&j, "journal");
	mcm_json_bool(&j, "present", s->journal_state == 0);
	mcm_json_u64(&j, "size_bytes", s->journal_size);
	mcm_json_u64(&j, "used_bytes", s->journal_used);
	mcm_json_u64(&j, "unapplied_bytes", s->journal_unapplied);
	mcm_json_u64(&j, "lost_records", s->journal_lost);
	mcm_json_close_object(&j);
	mcm_json_array(&j, "pools");
	for (size_t i = 0; i < s->npools; i++)
		json_pool(&j, &s->pools[i]);
	mcm_json_close_array(&j);
	mcm_json_array(&j, "followers");
	for (size_t i = 0; i < s->nfollowers; i++) {
		const struct follower_stats *fs = &s->followers[i];

		mcm_json_object(&j, NULL);
		mcm_json_str(&j, "name", fs->f.name);
		mcm_json_str(&j, "target", fs->f.target[0] ? fs->f.target : NULL);
		mcm_json_u64(&j, "position", fs->f.position);
		mcm_json_u64(&j, "changes_behind", fs->changes_behind);
		mcm_json_double(&j, "seconds_behind", fs->seconds_behind, 1);
		mcm_json_time(&j, "registered", (int64_t)(fs->f.registered_us / 1000000u));
		mcm_json_time(&j, "last_contact", (int64_t)(fs->f.contact_us / 1000000u));
		mcm_json_time(&j, "last_applied", (int64_t)(fs->f.applied_us / 1000000u));
		mcm_json_u64(&j, "resyncs", fs->f.resyncs);
		mcm_json_u64(&j, "errors", fs->f.errors);
		mcm_json_bool(&j, "must_resync", fs->must_resync);
		mcm_json_close_object(&j);
	}
	mcm_json_close_array(&j);
	mcm_json_u64(&j, "purge_horizon", s->purge_horizon);
	mcm_sweepinfo_json(&j, &s->bounded);
	mcm_json_object(&j, "total");
	mcm_json_u64(&j, "live_items", s->total[MCM_DUMP_LIVE]);
	mcm_json_u64(&j, "live_value_bytes", s->total_bytes);
	mcm_json_u64(&j, "deleted", s->total[MCM_DUMP_DELETED]);
	mcm_json_u64(&j, "dropped", s->total[MCM_DUMP_DROPPED]);
	mcm_json_u64(&j, "expired", s->total[MCM_DUMP_EXPIRED]);
	mcm_json_u64(&j, "flushed", s->total[MCM_DUMP_FLUSHED]);
	mcm_json_close_object(&j);
	mcm_json_finish(&j);
}

/* --- Prometheus text exposition format ------------------------------------ */

/* A label value: backslash, double quote and newline escaped; other bytes as they are. */
static void prom_label(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', out), fputc(*p, out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{mirror="...",[pool and servers of ps],[extra="value"]} v */
static void prom_sample(FILE *out, const struct stats *s, const char *name, const struct pool_stats *ps,
			const char *extra, const char *extra_value, double v)
{
	char id[17];

	fprintf(out, "%s{", name);
	prom_label(out, "mirror", s->path);
	if (ps) {
		mcm_dumpfmt_pool_id(ps->pool.id, id);
		fputc(',', out);
		prom_label(out, "pool", id);
		fputc(',', out);
		prom_label(out, "servers", ps->known ? ps->pool.servers : "");
	}
	if (extra) {
		fputc(',', out);
		prom_label(out, extra, extra_value);
	}
	fprintf(out, "} %.17g\n", v);
}

static void prom_mirror(FILE *out, const struct stats *s)
{
	prom_family(out, "mcmirror_lmdb_map_size_bytes", "gauge", "Size of the LMDB map of the mirror (it grows by itself).");
	prom_sample(out, s, "mcmirror_lmdb_map_size_bytes", NULL, NULL, NULL, (double)s->info.map_size);
	prom_family(out, "mcmirror_lmdb_used_bytes", "gauge", "Pages of the LMDB map in use, in bytes.");
	prom_sample(out, s, "mcmirror_lmdb_used_bytes", NULL, NULL, NULL, (double)s->info.used_bytes);
	prom_family(out, "mcmirror_records", "gauge", "Item records of every kind in the mirror.");
	prom_sample(out, s, "mcmirror_records", NULL, NULL, NULL, (double)s->info.entries);
	prom_family(out, "mcmirror_index_entries", "gauge",
		    "Entries of the index by change number: one per record, and superseded ones not yet removed.");
	prom_sample(out, s, "mcmirror_index_entries", NULL, NULL, NULL, (double)s->info.seq_entries);
	prom_family(out, "mcmirror_last_seq", "gauge", "Highest change sequence number handed out.");
	prom_sample(out, s, "mcmirror_last_seq", NULL, NULL, NULL, (double)s->info.last_seq);
	prom_family(out, "mcmirror_lock_table", "gauge",
		    "1 when the mirror was read with LMDB's lock table, 0 without it (a snapshot, a read-only copy).");
	prom_sample(out, s, "mcmirror_lock_table", NULL, NULL, NULL, s->unlocked ? 0 : 1);
}

static void prom_counters(FILE *out, const struct stats *s)
{
	static const char *const help[MCM_CTR_COUNT] = {
		[MCM_CTR_RECORDED] = "Writes mirrored by the shim.",
		[MCM_CTR_UNCERTAIN] = "Keys dropped because the outcome of a write was unknown.",
		[MCM_CTR_FAILED] = "Writes that could not be applied to LMDB (disk full, LMDB error).",
		[MCM_CTR_ENCRYPTED] = "Writes skipped because the pool uses an encoding key.",
		[MCM_CTR_SKIPPED] = "Writes passed through while the shim was off.",
		[MCM_CTR_MAP_GROWN] = "Times the LMDB map was grown.",
		[MCM_CTR_LOST_DROPS] = "Writes that could not be journalled: the mirror forgot what it held before.",
		[MCM_CTR_OUT_OF_STEP] = "Writes on a text-protocol connection out of step with its replies (keys dropped).",
	};
	char name[64];

	for (int i = 0; i < MCM_CTR_COUNT; i++) {
		snprintf(name, sizeof name, "mcmirror_shim_%s_total", mcm_counter_names[i]);
		prom_family(out, name, "counter", help[i]);
		prom_sample(out, s, name, NULL, NULL, NULL, (double)s->counters[i]);
	}
}

static void prom_journal(FILE *out, const struct stats *s)
{
	prom_family(out, "mcmirror_journal_size_bytes", "gauge", "Size of the journal's ring (0: no journal).");
	prom_sample(out, s, "mcmirror_journal_size_bytes", NULL, NULL, NULL, (double)s->journal_size);
	prom_family(out, "mcmirror_journal_used_bytes", "gauge",
		    "Bytes of the journal not yet reusable (records not yet on disk in LMDB).");
	prom_sample(out, s, "mcmirror_journal_used_bytes", NULL, NULL, NULL, (double)s->journal_used);
	prom_family(out, "mcmirror_journal_unapplied_bytes", "gauge", "Bytes of records not yet applied to LMDB.");
	prom_sample(out, s, "mcmirror_journal_unapplied_bytes", NULL, NULL, NULL, (double)s->journal_unapplied);
	prom_family(out, "mcmirror_journal_lost_records_total", "counter", "Records that found the journal full.");
	prom_sample(out, s, "mcmirror_journal_lost_records_total", NULL, NULL, NULL, (double)s->journal_lost);
}

static void prom_pools(FILE *out, const struct stats *s)
{
	prom_family(out, "mcmirror_pool_records", "gauge",
		    "Records of a pool by status: live (memcached holds it), deleted, dropped, expired, flushed.");
	for (size_t i = 0; i < s->npools; i++)
		for (int k = 0; k < MCM_DUMP_NSTATUS; k++)
			prom_sample(out, s, "mcmirror_pool_records", &s->pools[i], "status",
				    mcm_dumpfmt_status_name((enum mcm_dump_status)k), (double)s->pools[i].count[k]);
	prom_family(out, "mcmirror_pool_live_value_bytes", "gauge", "Bytes of the live values of a pool.");
	for (size_t i = 0; i < s->npools; i++)
		prom_sample(out, s, "mcmirror_pool_live_value_bytes", &s->pools[i], NULL, NULL,
			    (double)s->pools[i].live_bytes);
	prom_family(out, "mcmirror_pool_oldest_live_write_age_seconds", "gauge",
		    "Age of the oldest write a live record of the pool holds (no sample: no live record).");
	for (size_t i = 0; i < s->npools; i++)
		if (s->pools[i].oldest_us)
			prom_sample(out, s, "mcmirror_pool_oldest_live_write_age_seconds", &s->pools[i], NULL, NULL,
				    (double)s->now - (double)s->pools[i].oldest_us / 1e6);
	prom_family(out, "mcmirror_pool_newest_live_write_age_seconds", "gauge",
		    "Age of the newest write a live record of the pool holds (no sample: no live record).");
	for (size_t i = 0; i < s->npools; i++)
		if (s->pools[i].newest_us)
			prom_sample(out, s, "mcmirror_pool_newest_live_write_age_seconds", &s->pools[i], NULL, NULL,
				    (double)s->now - (double)s->pools[i].newest_us / 1e6);
	prom_family(out, "mcmirror_pool_hashpower", "gauge",
		    "memcached -o hashpower=N whose table holds the pool's live items per server without growing.");
	for (size_t i = 0; i < s->npools; i++)
		if (s->pools[i].servers)
			prom_sample(out, s, "mcmirror_pool_hashpower", &s->pools[i], NULL, NULL, s->pools[i].hashpower);
}

/* A follower's sample: name="..." as its label. */
static void prom_follower(FILE *out, const char *metric, const struct follower_stats *fs, double v)
{
	fprintf(out, "%s{", metric);
	prom_label(out, "follower", fs->f.name);
	fprintf(out, "} %.17g\n", v);
}

static void prom_followers(FILE *out, const struct stats *s)
{
	static const struct {
		const char *name, *type, *help;
	} f[] = {
		{"mcmirror_follower_position", "gauge", "Sequence number up to which the follower's target applied every change."},
		{"mcmirror_follower_changes_behind", "gauge", "Sequence numbers handed out after the follower's position."},
		{"mcmirror_follower_seconds_behind", "gauge", "Age of the oldest change the follower has not applied (0: none)."},
		{"mcmirror_follower_last_contact_age_seconds", "gauge", "Seconds since the follower last reached its target."},
		{"mcmirror_follower_resyncs_total", "counter", "Full resynchronisations of the follower's target."},
		{"mcmirror_follower_errors_total", "counter", "Errors the follower met (target unreachable or refusing)."},
	};

	for (size_t k = 0; s->nfollowers && k < sizeof f / sizeof f[0]; k++) {
		prom_family(out, f[k].name, f[k].type, f[k].help);
		for (size_t i = 0; i < s->nfollowers; i++) {
			const struct follower_stats *fs = &s->followers[i];
			double v = k == 0 ? (double)fs->f.position : k == 1 ? (double)fs->changes_behind
				   : k == 2 ? fs->seconds_behind : k == 3 ? (fs->f.contact_us ? (double)s->now -
									   (double)fs->f.contact_us / 1e6 : -1)
				   : k == 4 ? (double)fs->f.resyncs : (double)fs->f.errors;

			prom_follower(out, f[k].name, fs, v);
		}
	}
}

void mcm_stats_prometheus(const struct stats *s, FILE *out)
{
	prom_mirror(out, s);
	prom_counters(out, s);
	prom_journal(out, s);
	prom_pools(out, s);
	prom_followers(out, s);
	mcm_sweepinfo_print_prometheus(out, &s->bounded);
}
