/* Column layouts of the public data sets users already have, and the --map parser. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shopseq/ingest.h"
#include "timeparse.h"

static const char *const field_names[SQ_IN_FIELD_COUNT] = {
#define SQ__IN_NAME(id, name, help) [id] = name,
    SQ_INGEST_FIELD_TABLE(SQ__IN_NAME)
#undef SQ__IN_NAME
};

static const char *const reject_names[SQ_REJECT_COUNT] = {
#define SQ__RJ_NAME(id, name, help) [id] = name,
    SQ_REJECT_TABLE(SQ__RJ_NAME)
#undef SQ__RJ_NAME
};

static const char *const reject_helps[SQ_REJECT_COUNT] = {
#define SQ__RJ_HELP(id, name, help) [id] = help,
    SQ_REJECT_TABLE(SQ__RJ_HELP)
#undef SQ__RJ_HELP
};

const char *sq_ingest_field_name(sq_ingest_field f) {
    return (unsigned)f < SQ_IN_FIELD_COUNT ? field_names[f] : "?";
}
const char *sq_reject_name(sq_reject_reason r) {
    return (unsigned)r < SQ_REJECT_COUNT ? reject_names[r] : "?";
}
const char *sq_reject_help(sq_reject_reason r) {
    return (unsigned)r < SQ_REJECT_COUNT ? reject_helps[r] : "?";
}

void sq_ingest_options_init(sq_ingest_options *o) {
    memset(o, 0, sizeof *o);
    o->format = SQ_INPUT_AUTO;
    o->delimiter = 0;
    o->header = -1;
    /* the simulator's layout: user_id,item_id,category_id,behavior,timestamp,price */
    o->columns[SQ_IN_USER] = "user_id|user";
    o->columns[SQ_IN_ITEM] = "item_id|item";
    o->columns[SQ_IN_BEHAVIOR] = "behavior|behaviour|event_type|event?";
    o->columns[SQ_IN_TIME] = "timestamp|time|ts";
    o->columns[SQ_IN_CATEGORY] = "category_id|category?";
    o->columns[SQ_IN_PRICE] = "price?";
    o->columns[SQ_IN_SESSION] = "session_id|session?";
    o->default_behavior = "view";
    o->time_format = SQ_TIME_AUTO;
    o->year = 1970;
    o->session_gap_s = 1800;
    o->max_errors = UINT64_MAX;
    o->max_error_ratio = 0.10;
    o->max_line = 1 << 20;
}

void sq_ingest_options_free(sq_ingest_options *o) {
    if (!o) return;
    for (int i = 0; i < o->n_owned_; i++) free(o->owned_[i]);
    o->n_owned_ = 0;
}

const char *const sq_ingest_preset_names[] = {
    "taobao", "rees46", "jdata", "tmall", "tianchi", "yoochoose",
    "diginetica", "retailrocket", "sasrec", NULL,
};

static void clear_columns(sq_ingest_options *o) {
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) o->columns[f] = NULL;
    o->behaviors = NULL;
    o->default_behavior = "view";
}

sq_status sq_ingest_preset(sq_ingest_options *o, const char *name, sq_error *err) {
    clear_columns(o);
    o->preset_name = name;
    o->format = SQ_INPUT_CSV;
    if (!strcasecmp(name, "taobao")) {
        /* UserBehavior.csv: user_id,item_id,category_id,behavior_type,timestamp; no header */
        o->header = 0;
        o->delimiter = ',';
        o->columns[SQ_IN_USER] = "1";
        o->columns[SQ_IN_ITEM] = "2";
        o->columns[SQ_IN_CATEGORY] = "3";
        o->columns[SQ_IN_BEHAVIOR] = "4";
        o->columns[SQ_IN_TIME] = "5";
        o->behaviors = "pv=view,fav=fav,cart=cart,buy=buy";
        o->time_format = SQ_TIME_UNIX_S;
    } else if (!strcasecmp(name, "rees46")) {
        o->header = 1;
        o->delimiter = ',';
        o->columns[SQ_IN_TIME] = "event_time";
        o->columns[SQ_IN_BEHAVIOR] = "event_type";
        o->columns[SQ_IN_ITEM] = "product_id";
        o->columns[SQ_IN_CATEGORY] = "category_id?";
        o->columns[SQ_IN_PRICE] = "price?";
        o->columns[SQ_IN_USER] = "user_id";
        o->columns[SQ_IN_SESSION] = "user_session?";
        o->behaviors = "view=view,cart=cart,remove_from_cart=uncart,purchase=buy";
        o->time_format = SQ_TIME_ISO;
    } else if (!strcasecmp(name, "jdata")) {
        /* user_id,sku_id,time,model_id,type,cate,brand; type 1 browse 2 cart 3 uncart
         * 4 order 5 follow 6 click */
        o->header = 1;
        o->delimiter = ',';
        o->columns[SQ_IN_USER] = "user_id";
        o->columns[SQ_IN_ITEM] = "sku_id";
        o->columns[SQ_IN_TIME] = "time";
        o->columns[SQ_IN_BEHAVIOR] = "type";
        o->columns[SQ_IN_CATEGORY] = "cate?";
        o->behaviors = "1=view,2=cart,3=uncart,4=buy,5=fav,6=click";
        o->time_format = SQ_TIME_ISO;
        o->flags |= SQ_INGEST_STRIP_ZERO_FRACTION;
    } else if (!strcasecmp(name, "tmall")) {
        /* user_id,item_id,cat_id,merchant_id,brand_id,month,day,action,...; year 2015 */
        o->header = 1;
        o->delimiter = ',';
        o->columns[SQ_IN_USER] = "user_id";
        o->columns[SQ_IN_ITEM] = "item_id";
        o->columns[SQ_IN_CATEGORY] = "cat_id?";
        o->columns[SQ_IN_MONTH] = "month";
        o->columns[SQ_IN_DAY] = "day";
        o->columns[SQ_IN_BEHAVIOR] = "action|action_type";
        o->behaviors = "0=click,1=cart,2=buy,3=fav";
        o->year = 2015;
    } else if (!strcasecmp(name, "tianchi")) {
        /* user_id,item_id,behavior_type,user_geohash,item_category,time ("2014-12-06 02") */
        o->header = 1;
        o->delimiter = ',';
        o->columns[SQ_IN_USER] = "user_id";
        o->columns[SQ_IN_ITEM] = "item_id";
        o->columns[SQ_IN_BEHAVIOR] = "behavior_type";
        o->columns[SQ_IN_CATEGORY] = "item_category?";
        o->columns[SQ_IN_TIME] = "time";
        o->behaviors = "1=click,2=fav,3=cart,4=buy";
        o->time_format = SQ_TIME_ISO;
    } else if (!strcasecmp(name, "yoochoose")) {
        /* session-rec's prepared TSV: SessionId ItemId Time; sessions stand in for users */
        o->header = 1;
        o->delimiter = 0;
        o->columns[SQ_IN_USER] = "SessionId|session_id";
        o->columns[SQ_IN_SESSION] = "SessionId|session_id";
        o->columns[SQ_IN_ITEM] = "ItemId|item_id";
        o->columns[SQ_IN_TIME] = "Time|timestamp";
        o->default_behavior = "click";
        o->time_format = SQ_TIME_AUTO;
    } else if (!strcasecmp(name, "diginetica")) {
        /* session_id;user_id;item_id;timeframe;eventdate; timeframe = ms since session start */
        o->header = 1;
        o->delimiter = ';';
        o->columns[SQ_IN_USER] = "session_id|sessionId";
        o->columns[SQ_IN_SESSION] = "session_id|sessionId";
        o->columns[SQ_IN_ITEM] = "item_id|itemId";
        o->columns[SQ_IN_TIME] = "eventdate";
        o->columns[SQ_IN_TIME_OFFSET] = "timeframe?";
        o->default_behavior = "view";
        o->time_format = SQ_TIME_ISO;
    } else if (!strcasecmp(name, "retailrocket")) {
        /* events.csv: timestamp,visitorid,event,itemid,transactionid (ms); the views
         * sample is timestamp,user_id,item_id,session_id (s): both are read by name */
        o->header = 1;
        o->delimiter = 0;
        o->columns[SQ_IN_TIME] = "timestamp";
        o->columns[SQ_IN_USER] = "visitorid|user_id";
        o->columns[SQ_IN_ITEM] = "itemid|item_id";
        o->columns[SQ_IN_BEHAVIOR] = "event?";
        o->columns[SQ_IN_SESSION] = "session_id?";
        o->behaviors = "view=view,addtocart=cart,transaction=buy";
        o->default_behavior = "view";
        o->time_format = SQ_TIME_AUTO;
    } else if (!strcasecmp(name, "sasrec")) {
        /* "user item" per line, time-ordered per user, no time column */
        o->header = 0;
        o->delimiter = ' ';
        o->columns[SQ_IN_USER] = "1";
        o->columns[SQ_IN_ITEM] = "2";
        o->default_behavior = "view";
        o->flags |= SQ_INGEST_SYNTHETIC_TIME;
    } else {
        char list[256] = "";
        for (int i = 0; sq_ingest_preset_names[i]; i++) {
            if (i) strcat(list, ", ");
            strcat(list, sq_ingest_preset_names[i]);
        }
        return sq_error_set(err, SQ_ERR_USAGE, "unknown preset '%s' (known: %s)", name, list);
    }
    return SQ_OK;
}

sq_status sq_ingest_parse_map(sq_ingest_options *o, const char *spec, sq_error *err) {
    if (o->n_owned_ >= (int)(sizeof o->owned_ / sizeof *o->owned_))
        return sq_error_set(err, SQ_ERR_USAGE, "--map given too many times");
    char *copy = strdup(spec);
    if (!copy) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    int any = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            sq_status st = sq_error_set(err, SQ_ERR_USAGE,
                                        "--map: '%s' is not field=column (e.g. user=visitorid)", tok);
            free(copy);
            return st;
        }
        *eq = '\0';
        int f;
        for (f = 0; f < SQ_IN_FIELD_COUNT; f++)
            if (!strcasecmp(tok, field_names[f])) break;
        if (f == SQ_IN_FIELD_COUNT) {
            sq_status st = sq_error_set(err, SQ_ERR_USAGE,
                                        "--map: unknown field '%s' (fields: user, item, behavior, "
                                        "time, category, price, session, time_offset, month, day)",
                                        tok);
            free(copy);
            return st;
        }
        o->columns[f] = (!strcmp(eq + 1, "-") || !strcasecmp(eq + 1, "none")) ? NULL : eq + 1;
        any = 1;
    }
    if (!any) {
        free(copy);
        return sq_error_set(err, SQ_ERR_USAGE, "--map: empty specification");
    }
    o->owned_[o->n_owned_++] = copy; /* o->columns point into it */
    return SQ_OK;
}
