#include "csvout.h"

void sq_csv_write_field(FILE *fp, const char *s, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n; i++) quote |= s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite(s, 1, n, fp);
        return;
    }
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', fp);
        fputc(s[i], fp);
    }
    fputc('"', fp);
}
