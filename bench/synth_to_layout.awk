# Converts the simulator's CSV (user_id,item_id,category_id,behavior,timestamp,price; header)
# into a public layout, for bench/ingest.sh:
#   awk -v layout=taobao -f synth_to_layout.awk synth.csv > taobao.csv
#   awk -v layout=rees46 -f synth_to_layout.awk synth.csv > rees46.csv
# taobao: no header; user_id,item_id,category_id,behavior_type(pv|fav|cart|buy),timestamp
# rees46: header event_time,event_type,product_id,category_id,category_code,brand,price,
#         user_id,user_session; event_time 'YYYY-MM-DD HH:MM:SS UTC'; event_type
#         view|cart|purchase, and fav -> remove_from_cart (REES46 has no fav) so that no
#         row is lost; ids offset to REES46-like magnitudes; category_code/brand sometimes
#         empty; one session UUID per user and UTC day.
# Every `dup`-th data row (default 1000) is written twice, so that de-duplication has
# work to do (real Taobao has no exact duplicates, the REES46 sample has 5).
BEGIN {
    FS = ","; OFS = ","
    if (dup == "") dup = 1000
    if (layout != "taobao" && layout != "rees46") { print "layout must be taobao or rees46" > "/dev/stderr"; exit 2 }
    if (layout == "rees46")
        print "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
    tb["view"] = "pv"; tb["fav"] = "fav"; tb["cart"] = "cart"; tb["buy"] = "buy"
    rs["view"] = "view"; rs["fav"] = "remove_from_cart"; rs["cart"] = "cart"; rs["buy"] = "purchase"
}
# days since 1970-01-01 -> y, m, d (H. Hinnant's civil_from_days)
function civil(z,    era, doe, yoe, doy, mp) {
    z += 719468
    era = int((z >= 0 ? z : z - 146096) / 146097)
    doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    Y = yoe + era * 400
    doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153)
    D = doy - int((153 * mp + 2) / 5) + 1
    M = mp < 10 ? mp + 3 : mp - 9
    if (M <= 2) Y++
}
NR == 1 { next }
{
    if (layout == "taobao") {
        line = $1 OFS $2 OFS $3 OFS tb[$4] OFS $5
    } else {
        ts = $5 + 0
        day = int(ts / 86400); sec = ts - day * 86400
        if (day != lastday) { civil(day); date = sprintf("%04d-%02d-%02d", Y, M, D); lastday = day }
        t = sprintf("%s %02d:%02d:%02d UTC", date, int(sec / 3600), int(sec % 3600 / 60), sec % 60)
        cat = $3 + 0; item = $2 + 0; user = $1 + 0
        code = (cat % 3 == 0) ? "" : ("cat" cat ".sub" (item % 7))
        brand = (item % 5 == 0) ? "" : ("brand" (item % 300))
        sess = sprintf("%08x-%04x-4000-8000-%012x", user, day % 65536, user * 7919 + day)
        line = t OFS rs[$4] OFS (1000000 + item) OFS ("2053013552226" sprintf("%06d", cat)) OFS code OFS brand OFS $6 OFS (500000000 + user) OFS sess
    }
    print line
    if ((NR - 1) % dup == 0) print line
}
