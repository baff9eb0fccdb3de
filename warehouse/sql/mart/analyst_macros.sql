-- Masking helpers for the analyst copy (publish/analyst.py), one connection's temp macros.
-- jz_mask: an ID as its first 4 and last 4 characters (transforms.identifiers.mask, DOMAIN §10).
CREATE OR REPLACE TEMP MACRO jz_mask(x) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN length(x) <= 8 THEN '****'
         ELSE left(x, 4) || repeat('*', length(x) - 8) || right(x, 4) END;
-- jz_surname: a name reduced to the surname (two characters for the common compound surnames).
CREATE OR REPLACE TEMP MACRO jz_surname(x) AS
    CASE WHEN x IS NULL OR trim(x) = '' THEN NULL
         WHEN left(trim(x), 2) IN ('欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙',
                                   '宇文', '司徒', '令狐', '夏侯', '轩辕', '端木', '独孤', '南宫', '西门', '澹台')
              AND length(trim(x)) > 2
             THEN left(trim(x), 2)
         ELSE left(trim(x), 1) END;
-- jz_short: a hash or run id cut to 12 characters (the findings CLI accepts prefixes of 8 or more).
CREATE OR REPLACE TEMP MACRO jz_short(x) AS left(x, 12);
-- jz_version: a version id (file sha256 ':' town ':' case) with its hash shortened.
CREATE OR REPLACE TEMP MACRO jz_version(x) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN strpos(x, ':') > 0 THEN left(x, 12) || substr(x, strpos(x, ':'))
         ELSE left(x, 12) END;
-- jz_scrub: free text with every run of 12 or more digits masked (IDs, accounts: transforms.identifiers.scrub_text).
CREATE OR REPLACE TEMP MACRO jz_scrub(x) AS regexp_replace(x, '(\d{4})\d{4,}(\d{4})', '\1****\2', 'g');
-- jz_guard: any other text with every run of 16 or more digits masked (never an ID or an account).
CREATE OR REPLACE TEMP MACRO jz_guard(x) AS regexp_replace(x, '(\d{4})\d{8,}(\d{4})', '\1********\2', 'g');
