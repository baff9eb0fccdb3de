-- One close of a period, with what it paid and held.
INSERT INTO pay.closes VALUES ($period, $run_id, $as_of, $closed_at, $go_live, $lines, $total, $held_cases,
                               $recoveries)
