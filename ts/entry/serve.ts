/** `macridvae/serve`: recommendations for new users from a trained model directory. */
export type { OpenRecommenderOptions, RecommendOptions, UserRecommendations } from '../serve/recommender.js';
export { Recommender } from '../serve/recommender.js';
