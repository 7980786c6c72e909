# The national draw of bench/bench_sampling.py done in R with sampling + survey, the same steps on the same frame:
#   Rscript bench/bench_sampling.R FRAME.csv ALLOCATION.csv SEED
# FRAME.csv: code, county_code, urban_rural, g4_enrollment, g8_enrollment (the synth national registry);
# ALLOCATION.csv: province, n (counties per province, from naeq's allocation, so both draw the same numbers).
# Prints "stage seconds" lines and the SEs. Timing excludes reading the files (as on the Python side).
suppressMessages({library(sampling); library(survey)})
args <- commandArgs(TRUE)
f <- read.csv(args[1], colClasses = c(code = "character", county_code = "character", urban_rural = "character"))
alloc <- read.csv(args[2], colClasses = c(province = "character"))
set.seed(as.integer(args[3]))
clock <- function() proc.time()[["elapsed"]]
t0 <- clock()

## Counties: systematic PPS within provinces on g4 + g8 enrollment, sorted by city then size.
f$size <- f$g4_enrollment + f$g8_enrollment
cty <- aggregate(size ~ county_code, data = f, FUN = sum)
cty$province <- substr(cty$county_code, 1, 2)
cty$city <- substr(cty$county_code, 1, 4)
cty <- cty[order(cty$province, cty$city, cty$size, cty$county_code), ]
cty$pik <- 0; cty$sel <- 0
for (p in alloc$province) {
  m <- which(cty$province == p)
  pik <- inclusionprobabilities(cty$size[m], alloc$n[alloc$province == p])
  cty$pik[m] <- pik
  cty$sel[m] <- UPsystematic(pik)
}
sc <- cty[cty$sel == 1, ]
sc$order <- seq_len(nrow(sc))
t1 <- clock()

## Schools: per county and grade, MOS = max(enrollment, 30), reallocation, serpentine sort, systematic PPS,
## replacements next / previous.
long <- rbind(data.frame(code = f$code, county = f$county_code, ur = f$urban_rural, grade = 4L, enr = f$g4_enrollment),
              data.frame(code = f$code, county = f$county_code, ur = f$urban_rural, grade = 8L, enr = f$g8_enrollment))
long <- long[long$enr > 0 & long$county %in% sc$county_code, ]
long$mos <- pmax(long$enr, 30)
e4 <- tapply(long$grade == 4, long$county, sum); e8 <- tapply(long$grade == 8, long$county, sum)
n4 <- pmin(e4, 12 + pmax(8 - e8, 0)); n8 <- pmin(e8, 8 + pmax(12 - e4, 0))  # pmin(e, ...) keeps the names
long$group <- paste(long$county, long$grade)
long$n <- ifelse(long$grade == 4, n4[long$county], n8[long$county])
long$ur_rank <- ave(as.integer(long$ur), long$group, FUN = function(u) match(u, sort(unique(u))))
long$key <- ifelse(long$ur_rank %% 2 == 1, long$mos, -long$mos)
long <- long[order(long$county, long$grade, long$ur, long$key, long$code), ]
idx <- split(seq_len(nrow(long)), long$group)
long$pik <- 0; long$sel <- 0
for (g in idx) {
  pik <- inclusionprobabilities(long$mos[g], long$n[g[1]])
  long$pik[g] <- pik
  long$sel[g] <- UPsystematic(pik)
}
nr <- nrow(long)
same_next <- c(long$group[-1] == long$group[-nr], FALSE)
same_prev <- c(FALSE, long$group[-1] == long$group[-nr])
sampled_codes <- unique(long$code[long$sel == 1])
free <- !(long$code %in% sampled_codes)
r1 <- which(long$sel == 1 & same_next & c(free[-1], FALSE)) + 1
used <- rep(FALSE, nr); used[r1] <- TRUE
r2 <- which(long$sel == 1 & same_prev & c(FALSE, free[-nr]) & c(FALSE, !used[-nr])) - 1
schools <- long[long$sel == 1, ]
t2 <- clock()

## Students: srswor of 30 (all when <= 30) from each school and grade.
pos <- lapply(schools$enr, function(N) which(srswor(min(30, N), N) == 1))
m <- lengths(pos)
stud <- data.frame(school = rep(seq_len(nrow(schools)), m), position = unlist(pos) - 1L)
stud$county <- schools$county[stud$school]; stud$grade <- schools$grade[stud$school]
stud$pi_s <- schools$pik[stud$school]; stud$pi_st <- m[stud$school] / schools$enr[stud$school]
stud$pi_c <- sc$pik[match(stud$county, sc$county_code)]
t3 <- clock()

## Weights: base weights, calibration to the frame enrollment by county and grade, national weight.
stud$w_county <- 1 / (stud$pi_s * stud$pi_st)
cg <- paste(stud$county, stud$grade)
tot <- c(tapply(f$g4_enrollment, f$county_code, sum), tapply(f$g8_enrollment, f$county_code, sum))
names(tot) <- c(paste(names(tot)[seq_len(length(tot) / 2)], 4), paste(names(tot)[-seq_len(length(tot) / 2)], 8))
stud$w_county <- stud$w_county * tot[cg] / ave(stud$w_county, cg, FUN = sum)
stud$w <- stud$w_county / stud$pi_c
t4 <- clock()

## Replicates: half JK2 with counties as PSUs, paired within province in draw order; a province with an odd
## number of counties ends with a triple (three delete-one replicates, x 3/2, rscale 2/3); SEs of a mean and a
## proportion.
n_c <- nrow(sc)
k <- ave(seq_len(n_c), sc$province, FUN = function(x) seq_along(x) - 1)
size <- ave(seq_len(n_c), sc$province, FUN = length)
zone_in <- k %/% 2; member <- k %% 2
odd <- (size %% 2 == 1) & (k == size - 1) & (size > 1)
zone_in[odd] <- zone_in[odd] - 1; member[odd] <- 2
zone <- as.integer(factor(paste(sc$province, zone_in), levels = unique(paste(sc$province, zone_in))))
is_triple <- ave(member == 2, zone, FUN = any)
psu <- match(stud$county, sc$county_code)
pair_cols <- sapply(unique(zone[!is_triple]), function(h) ifelse(zone == h, ifelse(member == 0, 0, 2), 1))
tri_cols <- do.call(cbind, lapply(unique(zone[is_triple]), function(h)
  sapply(0:2, function(j) ifelse(zone == h, ifelse(member == j, 0, 1.5), 1))))
fac <- cbind(pair_cols, tri_cols)
rscales <- c(rep(1, ncol(pair_cols)), rep(2 / 3, if (is.null(tri_cols)) 0 else ncol(tri_cols)))
rw <- fac[psu, ]
stud$y <- stud$pi_st
stud$b <- as.integer(stud$grade == 4)
des <- svrepdesign(data = stud, weights = ~w, repweights = rw, type = "JKn", scale = 1, rscales = rscales,
                   combined.weights = FALSE, mse = TRUE)
se_y <- SE(svymean(~y, des)); se_b <- SE(svymean(~b, des))
t5 <- clock()

cat(sprintf("counties %.3f\nschools %.3f\nstudents %.3f\nweights %.3f\nreplicates %.3f\ntotal %.3f\n",
            t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0))
cat(sprintf("n_replicates %d\n", ncol(rw)))
cat(sprintf("n_counties %d\nn_school_grades %d\nn_replacements %d\nn_students %d\nse_mean %.10g\nse_prop %.10g\n",
            nrow(sc), nrow(schools), length(r1) + length(r2), nrow(stud), se_y, se_b))
cat(sprintf("version %s; survey %s; sampling %s\n", R.version.string, packageVersion("survey"),
            packageVersion("sampling")))
